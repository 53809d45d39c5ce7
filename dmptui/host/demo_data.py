"""Demo record: one patient, her practitioners, her documents and her personal space.

Pure data, no I/O and no database: the seeding code reads these objects and writes them.

The story. Camille Martin, born in May 1984 in Paris, architect in Bordeaux. Hypertension found
in January 2024 (secondary causes ruled out), treated by her médecin traitant. A first pregnancy
followed at the CHU de Bordeaux as a high-risk pregnancy (chronic hypertension, age 40), delivered
in July 2025; a postpartum depression followed by a perinatal psychiatry unit. A road accident in
June 2026 (brief loss of consciousness, break-glass access at the emergency department, operated
left wrist fracture). In October 2026 a right breast nodule: imaging, biopsy, and a pathology
result deposited 16 days ago, hidden from her until the announcement consultation.

Conventions:
- ``DEMO_PRACTITIONERS[i]["role"]`` is one of "author", "authorised", "attending", "emergency",
  "regulation", "pharmacist" (exactly one practitioner each) or "directory" (several: present in
  the directory only, neither authorised nor blocked).
- A document names its author with ``author_rpps``: the RPPS of one entry of
  ``DEMO_PRACTITIONERS`` (role "directory" is not unique, so roles are not used as references).
- ``deposited_days_ago``: the seeder deposits at ``now - timedelta(days=deposited_days_ago)``;
  the values fit care dates relative to late November 2026.
- No credentials here: practitioner credentials and the patient's TOTP secret are made at seed
  time. The patient's demo password is below so the demo can be logged into.
"""

from __future__ import annotations

from datetime import date

from dmptui.demo import DEMO_INS, DEMO_PASSWORD
from dmptui.identifiers import luhn_complete
from dmptui.schema import DocType, Label, Profession

__all__ = [
    "DEMO_DOCUMENTS",
    "DEMO_NEW_PATIENT",
    "DEMO_NOTES",
    "DEMO_PAST_BREAK_GLASS",
    "DEMO_PATIENT",
    "DEMO_PRACTITIONERS",
]


def _rpps(eight_digits: str) -> str:
    """A demo RPPS: "10" + eight digits + the Luhn check digit (11 digits)."""
    return luhn_complete("10" + eight_digits)


def _text(*lines: str) -> str:
    return "\n".join(lines)


# --- practitioners ----------------------------------------------------------------------------

_RPPS_AUTHOR = _rpps("04317265")  # gynécologue-obstétricienne, CHU — wrote most documents
_RPPS_AUTHORISED = _rpps("05528143")  # her colleague in the same department — wrote none
_RPPS_ATTENDING = _rpps("03196420")  # médecin traitant
_RPPS_EMERGENCY = _rpps("06873301")  # emergency doctor, not authorised — wrote none
_RPPS_REGULATION = _rpps("07214598")  # SAMU 33 regulation doctor — wrote none
_RPPS_PHARMACIST = _rpps("02645817")
_RPPS_NURSE = _rpps("08352176")
_RPPS_PHYSIO = _rpps("09481235")
_RPPS_RADIOLOGIST = _rpps("04972613")
_RPPS_BIOLOGIST = _rpps("03759048")
_RPPS_PATHOLOGIST = _rpps("05116874")
_RPPS_ORTHOPAEDIST = _rpps("06239457")
_RPPS_PSYCHIATRIST = _rpps("07685029")
_RPPS_MIDWIFE = _rpps("08917342")
_RPPS_DENTIST = _rpps("03840917")
_RPPS_OTHER_GP = _rpps("05671390")  # shares the patient's surname: makes name search interesting
_RPPS_OCCUPATIONAL = _rpps("02298761")
_RPPS_INSURER = _rpps("09036584")

_F_MATERNITY = "CHU de Bordeaux — Gynécologie-obstétrique et sénologie (Hôpital Pellegrin)"
_F_GP = "Cabinet médical des Chartrons, Bordeaux"
_F_EMERGENCY = "CHU de Bordeaux — Urgences adultes (Hôpital Pellegrin)"
_F_SAMU = "SAMU 33 — Centre 15 (CHU de Bordeaux)"
_F_PHARMACY = "Pharmacie du Marché, Bordeaux"
_F_NURSE = "Cabinet infirmier Saint-Seurin, Bordeaux"
_F_PHYSIO = "Cabinet de kinésithérapie du Jardin Public, Bordeaux"
_F_IMAGING = "CHU de Bordeaux — Imagerie diagnostique et interventionnelle (Hôpital Pellegrin)"
_F_LAB = "Laboratoire de biologie médicale Bio-Garonne — Site des Chartrons, Bordeaux"
_F_PATHOLOGY = "CHU de Bordeaux — Service de pathologie (Hôpital Pellegrin)"
_F_ORTHO = "CHU de Bordeaux — Chirurgie orthopédique et traumatologie (Hôpital Pellegrin)"
_F_PSYCHIATRY = "Centre hospitalier Charles Perrens — Unité de psychiatrie périnatale, Bordeaux"
_F_MIDWIFE = "Cabinet de sages-femmes des Chartrons, Bordeaux"
_F_DENTIST = "Cabinet dentaire Gambetta, Bordeaux"
_F_OTHER_GP = "Maison de santé pluriprofessionnelle de Pessac"
_F_OCCUPATIONAL = "Service de prévention et de santé au travail de la Gironde, Bordeaux"
_F_INSURER = "Garonne Prévoyance Assurances — Service médical, Mérignac"

DEMO_PRACTITIONERS: list[dict] = [
    {
        "rpps": _RPPS_AUTHOR,
        "name": "Claire Vasseur",
        "profession": Profession.MEDECIN,
        "facility": _F_MATERNITY,
        "regulation": False,
        "email": "claire.vasseur@chu-bordeaux.example.org",
        "role": "author",
    },
    {
        "rpps": _RPPS_AUTHORISED,
        "name": "Thomas Lagarde",
        "profession": Profession.MEDECIN,
        "facility": _F_MATERNITY,
        "regulation": False,
        "email": "thomas.lagarde@chu-bordeaux.example.org",
        "role": "authorised",
    },
    {
        "rpps": _RPPS_ATTENDING,
        "name": "Sophie Garnier",
        "profession": Profession.MEDECIN,
        "facility": _F_GP,
        "regulation": False,
        "email": "sophie.garnier@cabinet-chartrons.example.org",
        "role": "attending",
    },
    {
        "rpps": _RPPS_EMERGENCY,
        "name": "Julien Mercier",
        "profession": Profession.MEDECIN,
        "facility": _F_EMERGENCY,
        "regulation": False,
        "email": "julien.mercier@chu-bordeaux.example.org",
        "role": "emergency",
    },
    {
        "rpps": _RPPS_REGULATION,
        "name": "Nadia Benali",
        "profession": Profession.MEDECIN,
        "facility": _F_SAMU,
        "regulation": True,
        "email": "nadia.benali@samu33.example.org",
        "role": "regulation",
    },
    {
        "rpps": _RPPS_PHARMACIST,
        "name": "Marc Delorme",
        "profession": Profession.PHARMACIEN,
        "facility": _F_PHARMACY,
        "regulation": False,
        "email": "marc.delorme@pharmacie-du-marche.example.org",
        "role": "pharmacist",
    },
    {
        "rpps": _RPPS_NURSE,
        "name": "Élodie Roussel",
        "profession": Profession.INFIRMIER,
        "facility": _F_NURSE,
        "regulation": False,
        "email": "elodie.roussel@infirmiers-saint-seurin.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_PHYSIO,
        "name": "Romain Castaing",
        "profession": Profession.KINESITHERAPEUTE,
        "facility": _F_PHYSIO,
        "regulation": False,
        "email": "romain.castaing@kine-jardin-public.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_RADIOLOGIST,
        "name": "Philippe Arnaud",
        "profession": Profession.MEDECIN,
        "facility": _F_IMAGING,
        "regulation": False,
        "email": "philippe.arnaud@chu-bordeaux.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_BIOLOGIST,
        "name": "Isabelle Fournier",
        "profession": Profession.MEDECIN,
        "facility": _F_LAB,
        "regulation": False,
        "email": "isabelle.fournier@bio-garonne.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_PATHOLOGIST,
        "name": "Laurent Béranger",
        "profession": Profession.MEDECIN,
        "facility": _F_PATHOLOGY,
        "regulation": False,
        "email": "laurent.beranger@chu-bordeaux.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_ORTHOPAEDIST,
        "name": "Marion Lacoste",
        "profession": Profession.MEDECIN,
        "facility": _F_ORTHO,
        "regulation": False,
        "email": "marion.lacoste@chu-bordeaux.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_PSYCHIATRIST,
        "name": "Hugo Sanchez",
        "profession": Profession.MEDECIN,
        "facility": _F_PSYCHIATRY,
        "regulation": False,
        "email": "hugo.sanchez@ch-perrens.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_MIDWIFE,
        "name": "Manon Girard",
        "profession": Profession.SAGE_FEMME,
        "facility": _F_MIDWIFE,
        "regulation": False,
        "email": "manon.girard@sages-femmes-chartrons.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_DENTIST,
        "name": "Yann Le Goff",
        "profession": Profession.CHIRURGIEN_DENTISTE,
        "facility": _F_DENTIST,
        "regulation": False,
        "email": "yann.legoff@dentaire-gambetta.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_OTHER_GP,
        "name": "Pierre Martin",
        "profession": Profession.MEDECIN,
        "facility": _F_OTHER_GP,
        "regulation": False,
        "email": "pierre.martin@msp-pessac.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_OCCUPATIONAL,
        "name": "Anne Kieffer",
        "profession": Profession.MEDECIN_DU_TRAVAIL,
        "facility": _F_OCCUPATIONAL,
        "regulation": False,
        "email": "anne.kieffer@spst-gironde.example.org",
        "role": "directory",
    },
    {
        "rpps": _RPPS_INSURER,
        "name": "Bernard Collin",
        "profession": Profession.MEDECIN_CONSEIL_ASSURANCE,
        "facility": _F_INSURER,
        "regulation": False,
        "email": "bernard.collin@garonne-prevoyance.example.org",
        "role": "directory",
    },
]

# --- patient ----------------------------------------------------------------------------------

DEMO_PATIENT: dict = {
    "ins": DEMO_INS,  # a valid test NIR: woman, born May 1984, Paris
    "display_name": "Camille Martin",
    "email": "camille.martin@example.org",
    "phone": "+33 6 12 34 56 78",
    "password": DEMO_PASSWORD,  # demo only; accepted by auth.password_problem
}

# A second patient, whose record the pharmacist opens at seed time and who has not activated it
# yet: the demo of an activation (provisional password, then the code of the letter).
DEMO_NEW_PATIENT: dict = {
    "ins": "192033306304536",  # a valid test NIR: man, born March 1992, Gironde
    "display_name": "Hugo Lefèvre",
    "email": "hugo.lefevre@example.org",
    "phone": "+33 6 98 76 54 32",
    "opened_by_role": "pharmacist",
}

# --- documents --------------------------------------------------------------------------------
# Labels: exactly one INVISIBLE_PATIENT ("anapath-sein", deposited 16 days ago: the two-week
# notice is due, the one-month automatic reveal is not); two documents with MASQUE_PS only
# ("postnatale", "psy-consultation"); one with MASQUE_PS + INVISIBLE_REPRESENTANTS_LEGAUX
# ("psy-suivi"). The last label only matters for a minor's record: the perinatal psychiatry unit
# applies it by default, and the demo uses it to show that labels combine.

DEMO_DOCUMENTS: list[dict] = [
    # 2024 — hypertension found and explored
    {
        "key": "hta-decouverte",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation — découverte d'une hypertension artérielle",
        "author_rpps": _RPPS_ATTENDING,
        "facility": _F_GP,
        "care_date": date(2024, 1, 18),
        "deposited_days_ago": 1046,
        "labels": [],
        "content": _text(
            "Motif : céphalées occipitales matinales depuis trois semaines.",
            "Antécédents : appendicectomie en 2003. Contraception par DIU au cuivre.",
            "Allergie : amoxicilline (urticaire généralisée en 2010).",
            "Examen : PA 154/98 mmHg au bras droit, 150/96 mmHg au bras gauche, FC 78/min.",
            "IMC 24,1. Auscultation cardiaque et pulmonaire normale, pas de souffle abdominal.",
            "ECG : rythme sinusal, pas d'hypertrophie ventriculaire gauche.",
            "Conclusion : suspicion d'HTA, à confirmer par automesure tensionnelle",
            "(règle des 3 : trois mesures matin et soir pendant trois jours).",
            "Bilan biologique initial prescrit. Revoir avec les relevés et les résultats.",
        ),
    },
    {
        "key": "ordo-bilan-hta",
        "type": DocType.PRESCRIPTION,
        "title": "Ordonnance — bilan biologique initial d'une hypertension artérielle",
        "author_rpps": _RPPS_ATTENDING,
        "facility": _F_GP,
        "care_date": date(2024, 1, 18),
        "deposited_days_ago": 1046,
        "labels": [],
        "content": _text(
            "Faire pratiquer, à jeun :",
            "- ionogramme sanguin (sodium, potassium), créatininémie avec DFG (CKD-EPI) ;",
            "- glycémie à jeun, exploration d'une anomalie lipidique (EAL), TSH ;",
            "- numération formule sanguine ;",
            "- rapport albuminurie/créatininurie sur échantillon d'urine.",
        ),
    },
    {
        "key": "bio-bilan-hta",
        "type": DocType.LAB_REPORT,
        "title": "Bilan biologique — exploration d'une hypertension artérielle",
        "author_rpps": _RPPS_BIOLOGIST,
        "facility": _F_LAB,
        "care_date": date(2024, 1, 25),
        "deposited_days_ago": 1038,
        "labels": [],
        "content": _text(
            "Prélèvement du 25/01/2024 à 7 h 45, à jeun.",
            "Sodium 140 mmol/L (136-145) ; potassium 4,1 mmol/L (3,5-5,1).",
            "Créatinine 68 µmol/L (45-84) ; DFG (CKD-EPI) 98 mL/min/1,73 m².",
            "Glycémie à jeun 5,0 mmol/L (0,90 g/L).",
            "Cholestérol total 5,2 mmol/L ; HDL 1,6 mmol/L ; LDL calculé 3,1 mmol/L ;",
            "triglycérides 1,1 mmol/L.",
            "TSH 1,8 mUI/L (0,27-4,20).",
            "Hémoglobine 13,4 g/dL ; leucocytes 6,2 G/L ; plaquettes 254 G/L.",
            "Rapport albuminurie/créatininurie 1,2 mg/mmol (normal < 3).",
            "Validé par Dr Isabelle Fournier, biologiste médicale.",
        ),
    },
    # A patient note. Patient notes are the patient's own: the API refuses PATIENT_NOTE deposits
    # from practitioners, but every document row needs a practitioner author. This one is the
    # patient's home blood-pressure log, which she brought to her médecin traitant, who filed it
    # for her; the seeder writes it directly, naming the médecin traitant as author.
    {
        "key": "note-automesure",
        "type": DocType.PATIENT_NOTE,
        "title": "Mes relevés d'automesure tensionnelle (fin janvier 2024)",
        "author_rpps": _RPPS_ATTENDING,
        "facility": _F_GP,
        "care_date": date(2024, 1, 31),
        "deposited_days_ago": 1025,
        "labels": [],
        "content": _text(
            "Tensiomètre au bras, assise, après cinq minutes de repos.",
            "29/01 matin 148/95, 151/97, 146/93 - soir 144/92, 147/94, 143/91",
            "30/01 matin 149/94, 152/96, 147/94 - soir 145/93, 146/92, 142/90",
            "31/01 matin 150/96, 148/95, 146/93 - soir 147/94, 144/92, 145/93",
            "Moyenne calculée : 147/94 mmHg. Pouls autour de 76/min.",
            "Maux de tête au réveil deux jours sur trois. — Camille Martin",
        ),
    },
    {
        "key": "hta-traitement",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation — confirmation de l'hypertension et début du traitement",
        "author_rpps": _RPPS_ATTENDING,
        "facility": _F_GP,
        "care_date": date(2024, 2, 8),
        "deposited_days_ago": 1025,
        "labels": [],
        "content": _text(
            "Automesure : moyenne 147/94 mmHg sur 18 mesures. HTA de grade 1 confirmée.",
            "Bilan biologique normal : kaliémie 4,1 mmol/L, DFG 98, pas de microalbuminurie.",
            "HTA avant 40 ans : recherche d'une cause secondaire (écho-doppler des artères",
            "rénales, dosage rénine-aldostérone).",
            "Mesures hygiéno-diététiques : sel < 6 g/j, activité physique régulière.",
            "Début de l'amlodipine 5 mg/j. Contrôle dans un mois avec automesure.",
            "Projet de grossesse évoqué : consultation préconceptionnelle le moment venu.",
        ),
    },
    {
        "key": "ordo-amlodipine",
        "type": DocType.PRESCRIPTION,
        "title": "Ordonnance — amlodipine 5 mg et bilan étiologique",
        "author_rpps": _RPPS_ATTENDING,
        "facility": _F_GP,
        "care_date": date(2024, 2, 8),
        "deposited_days_ago": 1025,
        "labels": [],
        "content": _text(
            "Amlodipine 5 mg : 1 comprimé le matin. Traitement pour 3 mois, à renouveler 1 fois.",
            "Dosage de la rénine et de l'aldostérone plasmatiques (le matin, après une heure",
            "en position assise).",
            "Écho-doppler des artères rénales.",
        ),
    },
    {
        "key": "bio-renine-aldosterone",
        "type": DocType.LAB_REPORT,
        "title": "Dosage de la rénine et de l'aldostérone plasmatiques",
        "author_rpps": _RPPS_BIOLOGIST,
        "facility": _F_LAB,
        "care_date": date(2024, 2, 20),
        "deposited_days_ago": 1011,
        "labels": [],
        "content": _text(
            "Prélèvement du 20/02/2024 à 9 h, après une heure en position assise.",
            "Traitement en cours : amlodipine 5 mg (interférence négligeable).",
            "Potassium 4,0 mmol/L.",
            "Rénine active 14 mUI/L (4,4-46,1).",
            "Aldostérone 220 pmol/L.",
            "Rapport aldostérone/rénine 15,7 pmol/mUI (seuil de positivité 64).",
            "Conclusion : pas d'argument biologique pour un hyperaldostéronisme primaire.",
        ),
    },
    {
        "key": "echo-doppler-renal",
        "type": DocType.IMAGING_REPORT,
        "title": "Écho-doppler des artères rénales",
        "author_rpps": _RPPS_RADIOLOGIST,
        "facility": _F_IMAGING,
        "care_date": date(2024, 3, 5),
        "deposited_days_ago": 998,
        "labels": [],
        "content": _text(
            "Indication : HTA chez une femme de 39 ans, recherche d'une sténose artérielle rénale.",
            "Reins de taille normale (droit 112 mm, gauche 115 mm), bonne différenciation",
            "cortico-médullaire, pas de dilatation des cavités.",
            "Artères rénales perméables. Pics de vitesse systolique 95 cm/s à droite,",
            "102 cm/s à gauche. Index de résistance 0,62 et 0,64.",
            "Pas d'aspect de dysplasie fibromusculaire.",
            "Conclusion : examen normal, pas de sténose des artères rénales.",
        ),
    },
    # 2024-2025 — pregnancy with chronic hypertension, followed at the CHU
    {
        "key": "preconception",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation préconceptionnelle — hypertension artérielle chronique",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2024, 9, 10),
        "deposited_days_ago": 809,
        "labels": [],
        "content": _text(
            "Patiente de 40 ans, nulligeste, adressée par le Dr Garnier.",
            "HTA chronique sous amlodipine 5 mg depuis février 2024, équilibrée",
            "(automesure moyenne 128/82 mmHg). Bilan étiologique négatif.",
            "Risques expliqués : pré-éclampsie, retard de croissance, âge maternel.",
            "Relais de l'amlodipine par le labétalol 200 mg matin et soir.",
            "Acide folique 0,4 mg/j dès maintenant et jusqu'à 12 SA.",
            "Aspirine 100 mg/j à prévoir dès 12 SA et jusqu'à 36 SA.",
            "Rubéole : immunisée (carnet de santé). Sérologie toxoplasmose prescrite.",
            "Retrait du DIU par le médecin traitant. Suivi de grossesse au CHU proposé.",
        ),
    },
    {
        "key": "ordo-preconception",
        "type": DocType.PRESCRIPTION,
        "title": "Ordonnance — labétalol et acide folique (projet de grossesse)",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2024, 9, 10),
        "deposited_days_ago": 810,
        "labels": [],
        "content": _text(
            "Labétalol 200 mg : 1 comprimé matin et soir au cours des repas.",
            "Arrêter l'amlodipine le jour où le labétalol est commencé.",
            "Acide folique 0,4 mg : 1 comprimé par jour jusqu'à 12 semaines d'aménorrhée.",
            "Traitement pour 3 mois, à renouveler 2 fois.",
            "Sérologie toxoplasmose (IgG, IgM).",
        ),
    },
    {
        "key": "vaccin-grippe-2024",
        "type": DocType.IMMUNISATIONS,
        "title": "Vaccination antigrippale saisonnière 2024-2025 (grossesse en cours)",
        "author_rpps": _RPPS_ATTENDING,
        "facility": _F_GP,
        "care_date": date(2024, 12, 16),
        "deposited_days_ago": 713,
        "labels": [],
        "content": _text(
            "Vaccin grippal inactivé quadrivalent (Influvac Tetra), lot Q24-0871.",
            "0,5 mL par voie intramusculaire, deltoïde gauche.",
            "Indication : grossesse en cours (5 SA + 5 j), recommandée quel que soit le terme.",
            "Surveillance 15 minutes : pas de réaction immédiate.",
        ),
    },
    {
        "key": "grossesse-t1",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Première consultation prénatale — déclaration de grossesse",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2025, 1, 9),
        "deposited_days_ago": 688,
        "labels": [],
        "content": _text(
            "Grossesse intra-utérine évolutive à 9 SA + 1 j. DDR le 06/11/2024.",
            "Terme prévu le 20/08/2025 (41 SA).",
            "Primigeste, 40 ans. HTA chronique sous labétalol 200 mg x 2 : PA 126/80 mmHg.",
            "Poids 64 kg. Bandelette urinaire négative.",
            "Déclaration de grossesse remplie. Bilan prénatal prescrit.",
            "Aspirine 100 mg le soir à partir de 12 SA.",
            "Échographie de datation et dépistage combiné de la trisomie 21 proposés, acceptés.",
            "Suivi mensuel au CHU ; consultation d'anesthésie au 8e mois.",
        ),
    },
    {
        "key": "ordo-grossesse",
        "type": DocType.PRESCRIPTION,
        "title": "Ordonnance — suivi de grossesse (aspirine, labétalol, bilan prénatal)",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2025, 1, 9),
        "deposited_days_ago": 689,
        "labels": [],
        "content": _text(
            "Aspirine 100 mg : 1 sachet le soir, du 29/01/2025 (12 SA) jusqu'à 36 SA.",
            "Labétalol 200 mg : 1 comprimé matin et soir (renouvellement).",
            "Bilan prénatal : groupe sanguin ABO-Rh D (2e détermination), RAI,",
            "sérologies toxoplasmose, rubéole, syphilis, VIH (accord de la patiente),",
            "Ag HBs, anticorps anti-VHC ; glycémie à jeun ; NFS.",
        ),
    },
    {
        "key": "bio-bilan-prenatal",
        "type": DocType.LAB_REPORT,
        "title": "Bilan prénatal du premier trimestre",
        "author_rpps": _RPPS_BIOLOGIST,
        "facility": _F_LAB,
        "care_date": date(2025, 1, 14),
        "deposited_days_ago": 683,
        "labels": [],
        "content": _text(
            "Groupe sanguin A, Rh D positif (2e détermination). RAI négative.",
            "Toxoplasmose : IgG et IgM négatives — non immunisée, contrôle mensuel.",
            "Rubéole : IgG 48 UI/mL — immunisée.",
            "Syphilis (test tréponémique) : négatif.",
            "VIH 1 et 2 (test combiné) : négatif. Ag HBs : négatif. Anticorps anti-VHC : négatifs.",
            "Glycémie à jeun 4,7 mmol/L (0,85 g/L) : normale (< 5,1 mmol/L).",
            "Hémoglobine 12,6 g/dL ; plaquettes 241 G/L.",
        ),
    },
    {
        "key": "echo-t1",
        "type": DocType.IMAGING_REPORT,
        "title": "Échographie obstétricale du premier trimestre (datation)",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2025, 1, 30),
        "deposited_days_ago": 668,
        "labels": [],
        "content": _text(
            "Grossesse monofœtale intra-utérine évolutive, activité cardiaque présente.",
            "Longueur cranio-caudale 58 mm, soit 12 SA + 2 j : terme confirmé.",
            "Clarté nucale 1,4 mm. Morphologie précoce sans anomalie décelable.",
            "Trophoblaste postérieur. Doppler des artères utérines : IP moyen 1,6 (normal).",
            "Mesures transmises au laboratoire pour le calcul du risque combiné.",
        ),
    },
    {
        "key": "echo-t2",
        "type": DocType.IMAGING_REPORT,
        "title": "Échographie obstétricale du deuxième trimestre (morphologique)",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2025, 3, 27),
        "deposited_days_ago": 611,
        "labels": [],
        "content": _text(
            "Terme : 20 SA + 1 j. Grossesse monofœtale, activité cardiaque régulière.",
            "BIP 47 mm, PC 175 mm, PA 150 mm, LF 32 mm ; poids estimé 340 g (50e percentile).",
            "Étude morphologique complète sans anomalie.",
            "Placenta antérieur, non bas inséré. Liquide amniotique en quantité normale.",
            "Doppler des artères utérines : IP moyen 1,1, pas d'incisure protodiastolique.",
            "Col utérin 38 mm à l'échographie endovaginale.",
        ),
    },
    {
        "key": "grossesse-6e-mois",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation prénatale du 6e mois",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2025, 4, 24),
        "deposited_days_ago": 583,
        "labels": [],
        "content": _text(
            "Terme : 24 SA + 1 j. Mouvements actifs perçus, pas de contractions.",
            "PA 132/84 mmHg sous labétalol 200 mg x 2. Poids 69 kg (+5 kg).",
            "Bandelette urinaire : protéines négatives. Hauteur utérine 23 cm, BCF 145/min.",
            "Échographie morphologique normale. Toxoplasmose : toujours non immunisée.",
            "Vaccination contre la coqueluche réalisée ce jour.",
            "HGPO 75 g prescrite entre 24 et 28 SA (âge > 35 ans).",
        ),
    },
    {
        "key": "vaccin-coqueluche",
        "type": DocType.IMMUNISATIONS,
        "title": "Vaccination contre la coqueluche pendant la grossesse (dTcaP)",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2025, 4, 24),
        "deposited_days_ago": 584,
        "labels": [],
        "content": _text(
            "Vaccin diphtérie, tétanos, coqueluche acellulaire, poliomyélite (Boostrixtetra).",
            "Lot AC52B417. 0,5 mL par voie intramusculaire, deltoïde gauche.",
            "Indication : grossesse à 24 SA, protection du nouveau-né contre la coqueluche.",
            "Précédent rappel dTP : 2009. Pas de réaction immédiate.",
        ),
    },
    {
        "key": "bio-hgpo",
        "type": DocType.LAB_REPORT,
        "title": "Hyperglycémie provoquée par voie orale (HGPO 75 g) et sérologie toxoplasmose",
        "author_rpps": _RPPS_BIOLOGIST,
        "facility": _F_LAB,
        "care_date": date(2025, 5, 6),
        "deposited_days_ago": 571,
        "labels": [],
        "content": _text(
            "HGPO 75 g à 25 SA + 6 j.",
            "Glycémie à jeun 4,8 mmol/L (seuil 5,1).",
            "Glycémie à 1 heure 9,2 mmol/L (seuil 10,0).",
            "Glycémie à 2 heures 7,4 mmol/L (seuil 8,5).",
            "Conclusion : pas de diabète gestationnel.",
            "Toxoplasmose : IgG négatives (contrôle mensuel).",
        ),
    },
    {
        "key": "grossesse-8e-mois",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation prénatale du 8e mois — surveillance tensionnelle",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2025, 6, 26),
        "deposited_days_ago": 520,
        "labels": [],
        "content": _text(
            "Terme : 33 SA + 1 j. PA 146/94 mmHg ; automesure 140-148/90-95 depuis une semaine.",
            "Pas de céphalées, pas de troubles visuels, pas de douleur épigastrique.",
            "Bandelette urinaire : traces de protéines. Œdèmes modérés des chevilles.",
            "Échographie de croissance : poids estimé 2 100 g (45e percentile).",
            "Labétalol augmenté à 200 mg trois fois par jour.",
            "Bilan de pré-éclampsie prescrit en urgence, dont le rapport sFlt-1/PlGF.",
            "Consultation d'anesthésie faite. Déclenchement prévu à 38 SA si l'HTA reste",
            "contrôlée, plus tôt en cas de pré-éclampsie.",
        ),
    },
    {
        "key": "echo-t3",
        "type": DocType.IMAGING_REPORT,
        "title": "Échographie obstétricale du troisième trimestre (croissance)",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2025, 6, 26),
        "deposited_days_ago": 521,
        "labels": [],
        "content": _text(
            "Terme : 33 SA + 1 j. Présentation céphalique.",
            "BIP 84 mm, PC 305 mm, PA 290 mm, LF 63 mm.",
            "Poids fœtal estimé 2 100 g (45e percentile).",
            "Placenta antérieur haut. Liquide amniotique normal (grande citerne 55 mm).",
            "Doppler ombilical : IP 0,95 (normal). Doppler cérébral moyen normal.",
        ),
    },
    {
        "key": "bio-pre-eclampsie",
        "type": DocType.LAB_REPORT,
        "title": "Bilan de pré-éclampsie",
        "author_rpps": _RPPS_BIOLOGIST,
        "facility": _F_LAB,
        "care_date": date(2025, 6, 27),
        "deposited_days_ago": 519,
        "labels": [],
        "content": _text(
            "Rapport protéinurie/créatininurie 22 mg/mmol (seuil 30).",
            "Hémoglobine 11,8 g/dL ; plaquettes 212 G/L.",
            "ASAT 21 UI/L ; ALAT 18 UI/L ; LDH 180 UI/L.",
            "Créatinine 54 µmol/L ; acide urique 290 µmol/L.",
            "Rapport sFlt-1/PlGF : 24 (< 38 : pré-éclampsie peu probable dans la semaine).",
            "Conclusion : pas d'argument biologique pour une pré-éclampsie.",
        ),
    },
    {
        "key": "sejour-accouchement",
        "type": DocType.DISCHARGE_SUMMARY,
        "title": "Compte rendu d'hospitalisation — accouchement (30 juillet-3 août 2025)",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2025, 7, 30),
        "deposited_days_ago": 481,
        "labels": [],
        "content": _text(
            "Motif : déclenchement à 38 SA pour HTA chronique sous labétalol 600 mg/j.",
            "Maturation cervicale par ballonnet le 30/07, puis ocytocine. Analgésie péridurale.",
            "Accouchement par voie basse le 31/07/2025 à 14 h 52 : fille, Léa, 3 150 g, 49 cm,",
            "Apgar 10/10. Délivrance complète, pertes sanguines estimées à 350 mL.",
            "Post-partum : PA 135-145/85-92 mmHg, bilan du 01/08 normal (pas de pré-éclampsie).",
            "Allaitement maternel exclusif.",
            "Sortie le 03/08/2025 dans le cadre du PRADO (visites de sage-femme à domicile).",
            "Traitement de sortie : labétalol 200 mg x 3/j (compatible avec l'allaitement),",
            "fer 80 mg/j pendant un mois.",
            "Consultation postnatale à 6-8 semaines. Allergie connue : amoxicilline.",
        ),
    },
    {
        "key": "visite-post-natale",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Visite post-natale à domicile (PRADO) — J5",
        "author_rpps": _RPPS_MIDWIFE,
        "facility": _F_MIDWIFE,
        "care_date": date(2025, 8, 5),
        "deposited_days_ago": 481,
        "labels": [],
        "content": _text(
            "Mère : PA 138/88 mmHg, utérus bien involué, lochies normales, périnée cicatrisé.",
            "Allaitement exclusif efficace, pas de crevasse.",
            "Nouveau-né : 3 050 g (-3 %), ictère léger, dépistage néonatal fait à la maternité.",
            "Fatigue et pleurs passagers (baby blues), conjoint présent.",
            "Signes d'alerte rappelés : céphalées, troubles visuels, fièvre, tristesse durable.",
            "Prochaine visite dans trois jours.",
        ),
    },
    {
        "key": "postnatale",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation postnatale",
        "author_rpps": _RPPS_AUTHOR,
        "facility": _F_MATERNITY,
        "care_date": date(2025, 9, 25),
        "deposited_days_ago": 429,
        "labels": [Label.MASQUE_PS],  # masked by the patient
        "content": _text(
            "Huit semaines après l'accouchement. Allaitement mixte.",
            "PA 132/84 mmHg sous labétalol 200 mg x 2 ; suivi tensionnel par le médecin traitant.",
            "Examen gynécologique normal. Rééducation périnéale prescrite (10 séances).",
            "Contraception : pose d'un DIU au cuivre.",
            "Échelle EPDS : 16/30 (seuil 12). Troubles du sommeil indépendants du bébé,",
            "perte de plaisir, culpabilité. Pas d'idées suicidaires.",
            "Dépression du post-partum probable : orientation vers l'unité de psychiatrie",
            "périnatale du CH Charles Perrens, rendez-vous le 02/10/2025.",
        ),
    },
    {
        "key": "psy-consultation",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation de psychiatrie périnatale",
        "author_rpps": _RPPS_PSYCHIATRIST,
        "facility": _F_PSYCHIATRY,
        "care_date": date(2025, 10, 2),
        "deposited_days_ago": 422,
        "labels": [Label.MASQUE_PS],  # masked by the patient
        "content": _text(
            "Adressée par le Dr Vasseur pour un score EPDS à 16, neuf semaines post-partum.",
            "Humeur triste depuis six semaines, anhédonie, culpabilité (« mauvaise mère »),",
            "insomnie d'endormissement, ralentissement.",
            "Pas d'idées suicidaires ni d'idées de faire du mal à l'enfant.",
            "Pas d'antécédent psychiatrique personnel. Lien mère-enfant préservé.",
            "Diagnostic : épisode dépressif caractérisé d'intensité modérée du post-partum.",
            "Sertraline (compatible avec l'allaitement) et psychothérapie de soutien",
            "hebdomadaire en hôpital de jour mère-bébé. Revue dans trois semaines.",
        ),
    },
    {
        "key": "ordo-sertraline",
        "type": DocType.PRESCRIPTION,
        "title": "Ordonnance — sertraline",
        "author_rpps": _RPPS_PSYCHIATRIST,
        "facility": _F_PSYCHIATRY,
        "care_date": date(2025, 10, 2),
        "deposited_days_ago": 423,
        "labels": [],
        "content": _text(
            "Sertraline 25 mg : 1 gélule le matin pendant 7 jours,",
            "puis 2 gélules le matin (50 mg/j).",
            "Traitement pour 28 jours, à renouveler 2 fois.",
            "Compatible avec l'allaitement maternel.",
        ),
    },
    {
        "key": "vaccins-officine-2025",
        "type": DocType.IMMUNISATIONS,
        "title": "Vaccinations antigrippale et contre la Covid-19 en officine (saison 2025-2026)",
        "author_rpps": _RPPS_PHARMACIST,
        "facility": _F_PHARMACY,
        "care_date": date(2025, 10, 16),
        "deposited_days_ago": 409,
        "labels": [],
        "content": _text(
            "Vaccin grippal inactivé trivalent (Vaxigrip), lot W5G213,",
            "0,5 mL intramusculaire, deltoïde droit.",
            "Vaccin Covid-19 à ARNm (Comirnaty LP.8.1), lot HX4721,",
            "0,3 mL intramusculaire, deltoïde gauche.",
            "Indication : entourage d'un nourrisson de moins de 6 mois.",
            "Surveillance 15 minutes : pas de réaction immédiate.",
        ),
    },
    {
        "key": "psy-suivi",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation de suivi en psychiatrie périnatale",
        "author_rpps": _RPPS_PSYCHIATRIST,
        "facility": _F_PSYCHIATRY,
        "care_date": date(2026, 1, 15),
        "deposited_days_ago": 317,
        "labels": [Label.MASQUE_PS, Label.INVISIBLE_REPRESENTANTS_LEGAUX],
        "content": _text(
            "Sertraline 50 mg depuis trois mois, bien tolérée.",
            "Nette amélioration : sommeil restauré, reprise des activités, EPDS 7/30.",
            "Reprise du travail prévue en février : visite de pré-reprise avec le médecin du",
            "travail conseillée.",
            "Poursuite du traitement six mois après la rémission, puis arrêt progressif",
            "sur quatre semaines.",
            "Fin de l'hôpital de jour ; relais par le médecin traitant, revue dans trois mois.",
        ),
    },
    # 2026 — road accident (break-glass at the emergency department), wrist fracture
    {
        "key": "scanner-trauma",
        "type": DocType.IMAGING_REPORT,
        "title": "Scanner cérébral et du rachis cervical sans injection (traumatisme)",
        "author_rpps": _RPPS_RADIOLOGIST,
        "facility": _F_IMAGING,
        "care_date": date(2026, 6, 20),
        "deposited_days_ago": 162,
        "labels": [],
        "content": _text(
            "Indication : accident de la voie publique, conductrice, choc latéral.",
            "Perte de connaissance initiale (Glasgow 9 sur place, 13 à l'arrivée).",
            "Encéphale : pas d'hématome intra- ou extra-axial, pas de contusion,",
            "pas d'hémorragie méningée. Structures médianes en place.",
            "Voûte et base du crâne : pas de fracture. Hématome sous-cutané pariétal gauche.",
            "Rachis cervical : pas de fracture, alignement conservé.",
            "Conclusion : pas de lésion traumatique intracrânienne ni cervicale.",
        ),
    },
    {
        "key": "radio-poignet",
        "type": DocType.IMAGING_REPORT,
        "title": "Radiographies du poignet gauche (face et profil)",
        "author_rpps": _RPPS_RADIOLOGIST,
        "facility": _F_IMAGING,
        "care_date": date(2026, 6, 20),
        "deposited_days_ago": 162,
        "labels": [],
        "content": _text(
            "Fracture extra-articulaire de l'extrémité distale du radius gauche,",
            "déplacement postérieur avec bascule dorsale de 25° (type Pouteau-Colles).",
            "Fracture associée de la styloïde ulnaire. Pas de lésion du carpe.",
            "Conclusion : fracture de Pouteau-Colles déplacée. Avis orthopédique.",
        ),
    },
    {
        "key": "sejour-traumatologie",
        "type": DocType.DISCHARGE_SUMMARY,
        "title": "Compte rendu d'hospitalisation — traumatologie (20-23 juin 2026)",
        "author_rpps": _RPPS_ORTHOPAEDIST,
        "facility": _F_ORTHO,
        "care_date": date(2026, 6, 20),
        "deposited_days_ago": 157,
        "labels": [],
        "content": _text(
            "Admise le 20/06/2026 par les urgences après un accident de la voie publique",
            "(conductrice, choc latéral), perte de connaissance initiale brève.",
            "Bilan : traumatisme crânien léger (scanner normal), fracture déplacée de",
            "l'extrémité distale du radius gauche.",
            "Antécédents : HTA sous amlodipine 5 mg. Allergie : amoxicilline.",
            "21/06 : réduction et ostéosynthèse par plaque antérieure verrouillée,",
            "sous bloc axillaire ; antibioprophylaxie par clindamycine.",
            "Suites simples, surveillance neurologique normale sur 24 heures.",
            "Vaccination antitétanique à jour (dTcaP en 2025).",
            "Sortie le 23/06/2026. Kinésithérapie à partir du 06/07. Contrôle à 6 semaines.",
            "Arrêt de travail de 6 semaines.",
        ),
    },
    {
        "key": "ordo-sortie-traumatologie",
        "type": DocType.PRESCRIPTION,
        "title": "Ordonnance de sortie — antalgiques et rééducation du poignet gauche",
        "author_rpps": _RPPS_ORTHOPAEDIST,
        "facility": _F_ORTHO,
        "care_date": date(2026, 6, 23),
        "deposited_days_ago": 159,
        "labels": [],
        "content": _text(
            "Paracétamol 1 g : 1 comprimé toutes les 6 heures si douleur (maximum 4 g/j),",
            "pendant 10 jours. Pas d'anti-inflammatoire (HTA).",
            "Orthèse d'immobilisation du poignet gauche, à porter 3 semaines.",
            "Kinésithérapie : 15 séances de rééducation du poignet gauche après ostéosynthèse",
            "d'une fracture du radius distal, à débuter le 06/07/2026.",
            "Radiographies du poignet gauche, face et profil, à 6 semaines.",
        ),
    },
    {
        "key": "radio-poignet-controle",
        "type": DocType.IMAGING_REPORT,
        "title": "Radiographies de contrôle du poignet gauche à six semaines",
        "author_rpps": _RPPS_RADIOLOGIST,
        "facility": _F_IMAGING,
        "care_date": date(2026, 8, 3),
        "deposited_days_ago": 118,
        "labels": [],
        "content": _text(
            "Plaque antérieure verrouillée en place, sans démontage.",
            "Cal osseux visible, consolidation en cours.",
            "Réduction maintenue : inclinaison palmaire du radius 8°, index radio-ulnaire",
            "distal conservé.",
            "Conclusion : évolution favorable.",
        ),
    },
    {
        "key": "controle-poignet",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation de contrôle — fracture opérée du radius distal gauche",
        "author_rpps": _RPPS_ORTHOPAEDIST,
        "facility": _F_ORTHO,
        "care_date": date(2026, 8, 3),
        "deposited_days_ago": 117,
        "labels": [],
        "content": _text(
            "Six semaines après l'ostéosynthèse. Cicatrice propre, douleurs minimes.",
            "Flexion 50°, extension 45°, pronosupination complète.",
            "Radiographies : consolidation en cours, matériel en place.",
            "Poursuite de la kinésithérapie (10 séances supplémentaires).",
            "Reprise du travail le 10/08/2026. Conduite automobile autorisée.",
            "Ablation du matériel non systématique. Revue à trois mois si gêne.",
        ),
    },
    # Autumn 2026 — yearly hypertension follow-up, then a breast nodule
    {
        "key": "suivi-hta-2026",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation de suivi annuel — hypertension artérielle",
        "author_rpps": _RPPS_ATTENDING,
        "facility": _F_GP,
        "care_date": date(2026, 9, 15),
        "deposited_days_ago": 75,
        "labels": [],
        "content": _text(
            "HTA sous amlodipine 5 mg (relais du labétalol en février 2026, après le sevrage).",
            "PA 128/80 mmHg au cabinet ; automesure moyenne 126/79 mmHg.",
            "Poids 63 kg, IMC 23,7. Examen cardiovasculaire normal, ECG inchangé.",
            "Poignet gauche : rééducation terminée, mobilité presque complète.",
            "Bilan biologique annuel prescrit. Prochain contrôle dans six mois.",
        ),
    },
    {
        "key": "ordo-renouvellement-2026",
        "type": DocType.PRESCRIPTION,
        "title": "Ordonnance — renouvellement de l'amlodipine et bilan annuel",
        "author_rpps": _RPPS_ATTENDING,
        "facility": _F_GP,
        "care_date": date(2026, 9, 15),
        "deposited_days_ago": 75,
        "labels": [],
        "content": _text(
            "Amlodipine 5 mg : 1 comprimé le matin. Traitement pour 6 mois.",
            "Bilan à jeun : ionogramme sanguin, créatininémie avec DFG, glycémie, HbA1c,",
            "EAL, TSH, rapport albuminurie/créatininurie.",
        ),
    },
    {
        "key": "bio-bilan-annuel",
        "type": DocType.LAB_REPORT,
        "title": "Bilan biologique annuel — suivi de l'hypertension artérielle",
        "author_rpps": _RPPS_BIOLOGIST,
        "facility": _F_LAB,
        "care_date": date(2026, 9, 22),
        "deposited_days_ago": 67,
        "labels": [],
        "content": _text(
            "Prélèvement du 22/09/2026 à 8 h, à jeun.",
            "Sodium 139 mmol/L ; potassium 4,2 mmol/L.",
            "Créatinine 66 µmol/L ; DFG (CKD-EPI) 99 mL/min/1,73 m².",
            "Glycémie à jeun 5,1 mmol/L (0,92 g/L) ; HbA1c 5,4 %.",
            "Cholestérol total 5,0 mmol/L ; HDL 1,7 ; LDL calculé 2,8 ; triglycérides 1,0.",
            "TSH 2,1 mUI/L.",
            "Rapport albuminurie/créatininurie 1,0 mg/mmol (normal < 3).",
        ),
    },
    {
        "key": "nodule-sein",
        "type": DocType.CONSULTATION_NOTE,
        "title": "Consultation — nodule du sein droit",
        "author_rpps": _RPPS_ATTENDING,
        "facility": _F_GP,
        "care_date": date(2026, 10, 20),
        "deposited_days_ago": 40,
        "labels": [],
        "content": _text(
            "Nodule du sein droit découvert à l'autopalpation il y a dix jours.",
            "Nodule de 15 mm du quadrant supéro-externe droit, ferme, mobile, indolore.",
            "Pas de rétraction cutanée ni d'écoulement mamelonnaire.",
            "Pas d'adénopathie axillaire palpable. Sein gauche normal.",
            "Antécédent familial : tante maternelle, cancer du sein à 58 ans.",
            "Mammographie et échographie bilatérales prescrites, à faire sous quinze jours.",
            "Patiente informée ; la plupart des nodules sont bénins.",
        ),
    },
    {
        "key": "ordo-imagerie-sein",
        "type": DocType.PRESCRIPTION,
        "title": "Ordonnance — mammographie et échographie mammaires bilatérales",
        "author_rpps": _RPPS_ATTENDING,
        "facility": _F_GP,
        "care_date": date(2026, 10, 20),
        "deposited_days_ago": 40,
        "labels": [],
        "content": _text(
            "Mammographie bilatérale (deux incidences par sein).",
            "Échographie mammaire et axillaire bilatérale.",
            "Renseignements : nodule palpable de 15 mm du quadrant supéro-externe du sein droit,",
            "patiente de 42 ans. À réaliser sous quinze jours.",
        ),
    },
    {
        "key": "mammographie",
        "type": DocType.IMAGING_REPORT,
        "title": "Mammographie et échographie mammaires bilatérales",
        "author_rpps": _RPPS_RADIOLOGIST,
        "facility": _F_IMAGING,
        "care_date": date(2026, 10, 28),
        "deposited_days_ago": 31,
        "labels": [],
        "content": _text(
            "Seins hétérogènes et denses (type c).",
            "Sein droit : opacité de 14 mm à contours irréguliers au quadrant supéro-externe,",
            "correspondant à la lésion palpée. Pas de microcalcification associée.",
            "Échographie : masse hypoéchogène de 14 x 11 mm, contours angulaires, non parallèle",
            "à la peau, avec atténuation postérieure.",
            "Creux axillaire droit : ganglion de 9 mm à cortex fin, d'aspect normal.",
            "Sein gauche : pas d'anomalie.",
            "Conclusion : ACR 4 à droite, ACR 1 à gauche.",
            "Microbiopsies échoguidées programmées le 06/11/2026.",
        ),
    },
    {
        "key": "microbiopsie-sein",
        "type": DocType.IMAGING_REPORT,
        "title": "Microbiopsies échoguidées du sein droit",
        "author_rpps": _RPPS_RADIOLOGIST,
        "facility": _F_IMAGING,
        "care_date": date(2026, 11, 6),
        "deposited_days_ago": 23,
        "labels": [],
        "content": _text(
            "Après information et recueil du consentement, anesthésie locale.",
            "Quatre prélèvements au pistolet 14 G de la lésion de 14 mm du quadrant",
            "supéro-externe du sein droit. Pose d'un clip de repérage.",
            "Mammographie de contrôle : clip en place au sein de la lésion.",
            "Pas de complication immédiate.",
            "Prélèvements adressés au service de pathologie du CHU. Les résultats seront",
            "communiqués lors d'une consultation dédiée.",
        ),
    },
    # The one INVISIBLE_PATIENT document: deposited 16 days ago (notice due after 14 days,
    # automatic reveal one month after deposit).
    {
        "key": "anapath-sein",
        "type": DocType.LAB_REPORT,
        "title": "Examen anatomopathologique — microbiopsies du sein droit",
        "author_rpps": _RPPS_PATHOLOGIST,
        "facility": _F_PATHOLOGY,
        "care_date": date(2026, 11, 6),
        "deposited_days_ago": 16,
        "labels": [Label.INVISIBLE_PATIENT],
        "content": _text(
            "Prélèvements : quatre carottes biopsiques 14 G, sein droit, quadrant supéro-externe.",
            "Macroscopie : quatre fragments de 12 à 16 mm.",
            "Microscopie : carcinome infiltrant de type non spécifique, grade SBR II (3+2+1).",
            "Composante de carcinome in situ de bas grade, minime. Pas d'embole visible.",
            "Immunohistochimie : récepteurs des œstrogènes 90 % (intensité forte),",
            "récepteurs de la progestérone 60 %, HER2 score 1+ (négatif), Ki67 18 %.",
            "Conclusion : carcinome mammaire infiltrant de type non spécifique, grade II,",
            "RH positifs, HER2 négatif.",
            "Dossier inscrit à la RCP de sénologie du 19/11/2026.",
            "Non visible par la patiente avant la consultation d'annonce (Dr Vasseur).",
        ),
    },
    {
        "key": "vaccin-grippe-2026",
        "type": DocType.IMMUNISATIONS,
        "title": "Vaccination antigrippale saisonnière 2026-2027",
        "author_rpps": _RPPS_NURSE,
        "facility": _F_NURSE,
        "care_date": date(2026, 11, 24),
        "deposited_days_ago": 5,
        "labels": [],
        "content": _text(
            "Vaccin grippal inactivé trivalent, lot U6K094.",
            "0,5 mL par voie intramusculaire, deltoïde droit (côté opposé au poignet opéré).",
            "Réalisé au cabinet infirmier, à la demande de la patiente.",
            "Surveillance 15 minutes : pas de réaction immédiate.",
        ),
    },
]

# --- past emergency access --------------------------------------------------------------------
# Replayed by the seeder as a break-glass access by the practitioner whose role is "emergency",
# on the day of the road accident (20 June 2026).

DEMO_PAST_BREAK_GLASS: dict = {
    "role": "emergency",
    "reason": (
        "Patiente inconsciente admise aux urgences après un accident de la route : "
        "recherche des antécédents, traitements et allergies"
    ),
    "days_ago": 162,
}

# --- personal space ---------------------------------------------------------------------------

DEMO_NOTES: str = _text(
    "Allergies",
    "- Amoxicilline : urticaire généralisée en 2010. Pas d'autre allergie connue.",
    "- Codéine : vomissements (intolérance).",
    "",
    "Traitement habituel : amlodipine 5 mg le matin (hypertension).",
    "Groupe sanguin : A positif.",
    "",
    "Personne de confiance : Nicolas Leroy, mon conjoint, +33 6 98 76 54 32.",
    "Autre personne à prévenir : Françoise Martin, ma mère, +33 5 56 44 21 09.",
    "",
    "Directives anticipées (rédigées le 12 mars 2026)",
    "- Si je suis dans un coma dont on sait que je ne me réveillerai pas, je refuse",
    "  l'acharnement thérapeutique (réanimation prolongée, ventilation artificielle).",
    "- Je souhaite être soulagée de la douleur, même si cela peut abréger ma vie.",
    "- Je ne suis pas opposée au don d'organes ; mes proches le savent.",
)
