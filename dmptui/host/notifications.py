"""Notifications to the patient (in the app and through the outbox) and to practitioners
(the médecin traitant, for emergency accesses). Messages are in French and English and never
carry a document's title or content: only that something happened and what to do.

What leaves by SMS or email crosses networks and lands in mailboxes the host does not control:
it names no reason, no diagnosis, no document type, no practitioner, only what kind of thing
happened and "open the app to read it" (``OUTSIDE``). The detail is in the app, in the
notification sealed under the record key."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dmptui.host import auth, crypto, outbox
from dmptui.host.db import Notification, Practitioner, Record
from dmptui.schema import DOC_TYPE_LABELS

_SUBJECT = {"fr": "Votre dossier médical partagé", "en": "Your shared medical record"}

# What the SMS or email says, per kind of notification: nothing but that, and where to read it.
OUTSIDE: dict[str, dict[str, str]] = {
    "new_document": {
        "fr": "Un nouveau document a été ajouté à votre dossier médical partagé. "
        "Ouvrez l'application pour le lire.",
        "en": "A new document was added to your shared medical record. Open the app to read it.",
    },
    "emergency_access": {
        "fr": "Votre dossier médical partagé a été ouvert en urgence. Ouvrez l'application "
        "pour lire qui l'a ouvert et quand ; si vous ne reconnaissez pas cet accès, vous "
        "pourrez y bloquer ce professionnel.",
        "en": "Your shared medical record was opened in an emergency. Open the app to read "
        "who opened it and when; if you do not recognise this access, you can block this "
        "practitioner there.",
    },
    "authorisation": {
        "fr": "Un professionnel de santé a maintenant accès à votre dossier médical partagé. "
        "Ouvrez l'application pour lire qui ; vous pouvez y retirer cet accès.",
        "en": "A practitioner now has access to your shared medical record. Open the app to "
        "read who; you can remove this access there.",
    },
    "new_device": {
        "fr": "Connexion à votre dossier médical partagé depuis un nouvel appareil. Ouvrez "
        "l'application pour lire le détail ; si ce n'était pas vous, allez dans l'écran "
        "« Mes appareils et sessions » : terminez cette session, oubliez cet appareil et "
        "changez votre mot de passe, puis contactez le support.",
        "en": "Login to your shared medical record from a new device. Open the app to read "
        'the details; if this was not you, go to the "My devices and sessions" screen: end '
        "that session, forget that device and change your password, then contact support.",
    },
    "password_changed": {
        "fr": "Le mot de passe de votre dossier médical partagé a été changé ; vos autres "
        "sessions ont été terminées. Si ce n'était pas vous, contactez le support "
        "immédiatement.",
        "en": "The password of your shared medical record was changed; your other sessions "
        "were ended. If this was not you, contact support at once.",
    },
    "logged_out_everywhere": {
        "fr": "Toutes les sessions de votre dossier médical partagé ont été terminées. Si ce "
        "n'était pas vous, changez votre mot de passe et contactez le support.",
        "en": "Every session of your shared medical record was ended. If this was not you, "
        "change your password and contact support.",
    },
    "record_opened": {
        "fr": "Votre dossier médical partagé a été ouvert. Un courrier vous apporte le code qui "
        "l'active ; ouvrez ensuite l'application pour lire qui l'a ouvert. Si vous n'avez rien "
        "demandé, contactez le support.",
        "en": "Your shared medical record has been opened. A letter brings you the code that "
        "activates it; then open the app to read who opened it. If you asked for nothing, "
        "contact support.",
    },
    "export": {
        "fr": "Votre dossier médical partagé entier a été exporté. Ouvrez l'application pour "
        "lire quand ; si ce n'était pas vous, changez votre mot de passe.",
        "en": "Your whole shared medical record was exported. Open the app to read when; if "
        "this was not you, change your password.",
    },
    "password_reset": {
        "fr": "Le mot de passe de votre dossier médical partagé a été changé (mot de passe "
        "oublié) ; toutes les sessions ont été fermées. Si ce n'était pas vous, contactez le "
        "support tout de suite.",
        "en": "The password of your shared medical record was changed (forgotten password); "
        "every session was ended. If this was not you, contact support at once.",
    },
    "authenticator_reenrolled": {
        "fr": "Une nouvelle application d'authentification a été associée à votre dossier "
        "médical partagé ; l'ancienne ne fonctionne plus. Si ce n'était pas vous, changez votre "
        "mot de passe et contactez le support.",
        "en": "A new authenticator app was linked to your shared medical record; the old one no "
        "longer works. If this was not you, change your password and contact support.",
    },
    "support_unlock": {
        "fr": "Le support a débloqué la connexion à votre dossier médical partagé. Ouvrez "
        "l'application pour lire quand ; si vous n'avez pas appelé le support, changez votre "
        "mot de passe.",
        "en": "The support desk unlocked the login to your shared medical record. Open the app "
        "to read when; if you did not call the support desk, change your password.",
    },
}
# Any other kind (a document awaiting an announcement consultation, say): a message, no more.
OUTSIDE_OTHER = {
    "fr": "Un nouveau message vous attend dans votre dossier médical partagé. "
    "Ouvrez l'application pour le lire.",
    "en": "A new message awaits you in your shared medical record. Open the app to read it.",
}


# The DMP is a French service: times in messages are Paris times, said so, in each language.
_PARIS = ZoneInfo("Europe/Paris")
_WHEN = {
    "fr": ("fr_FR", "d MMMM y 'à' H 'h' mm", "heure de Paris"),
    "en": ("en_GB", "d MMMM y 'at' HH:mm", "Paris time"),
}


def _when(moment: datetime, lang: str) -> str:
    """'29 novembre 2026 à 11 h 05 (heure de Paris)' / '29 November 2026 at 11:05 (Paris time)'."""
    from babel.dates import format_datetime

    locale, pattern, zone = _WHEN[lang]
    return f"{format_datetime(moment, pattern, tzinfo=_PARIS, locale=locale)} ({zone})"


def _day(moment: datetime, lang: str) -> str:
    """The day in Paris, in words: '13 décembre 2026' / '13 December 2026'."""
    from babel.dates import format_datetime

    return format_datetime(moment, "d MMMM y", tzinfo=_PARIS, locale=_WHEN[lang][0])


def day(moment: datetime, lang: str) -> str:
    """The day in Paris, in words, for a message written here or in a letter (activation.py)."""
    return _day(moment, lang)


def _when_fr(moment: datetime) -> str:
    return _when(moment, "fr")


def _when_en(moment: datetime) -> str:
    return _when(moment, "en")


def _mode_words(mode: str) -> dict[str, str]:
    if mode == "regulation":
        return {
            "fr": "par le centre de régulation (SAMU, centre 15)",
            "en": "by the emergency call centre (SAMU, centre 15)",
        }
    return {"fr": "en urgence (bris de glace)", "en": "in an emergency (break-glass)"}


def notify_patient(
    s: Session,
    record: Record,
    kind: str,
    message: dict[str, str],
    *,
    now: datetime,
    emergency: bool = False,
    actor_rpps: str | None = None,
    mode: str | None = None,
    document_id: str | None = None,
    by_email: bool = True,
    by_sms: bool = False,
) -> Notification:
    n = Notification(
        record_id=record.id,
        kind=kind,
        at=now,
        emergency=emergency,
        actor_rpps=actor_rpps,
        mode=mode,
        document_id=document_id,
        message_sealed=b"",
    )
    s.add(n)
    s.flush()  # the row's id goes into the associated data
    n.message_sealed = crypto.seal_message(s, record.id, n.id, message, now)
    outside = OUTSIDE.get(kind, OUTSIDE_OTHER)
    body = f"{outside['fr']}\n\n{outside['en']}\n"
    if by_email and record.email:
        outbox.enqueue(
            s,
            channel="email",
            recipient=record.email,
            subject=f"{_SUBJECT['fr']} / {_SUBJECT['en']}",
            body=body,
            record_id=record.id,
            now=now,
        )
    if by_sms and record.phone:
        outbox.enqueue(
            s,
            channel="sms",
            recipient=record.phone,
            subject="DMP",
            body=body,
            record_id=record.id,
            now=now,
        )
    return n


def one_time_code(
    s: Session, channel: str, destination: str, code: str, record_id: int, now: datetime
) -> None:
    """A one-time code by SMS or email (``channel``), to the record's own phone or address: a
    login's, a step-up's or a recovery's (the message says only what it is and how long)."""
    minutes = int(auth.CODE_TTL.total_seconds() // 60)
    outbox.enqueue(
        s,
        channel=channel,
        recipient=destination,
        subject="Code DMP / DMP code",
        body=(
            f"Votre code DMP : {code} (valable {minutes} min). Ne le donnez à personne.\n"
            f"Your DMP code: {code} (valid {minutes} min). Never share it.\n"
        ),
        record_id=record_id,
        now=now,
    )


def new_document(
    s: Session, record: Record, author: Practitioner, doc_type: str, doc_id: str, now: datetime
) -> None:
    label = DOC_TYPE_LABELS.get(doc_type, {"fr": doc_type, "en": doc_type})
    notify_patient(
        s,
        record,
        "new_document",
        {
            "fr": f"Nouveau document dans votre dossier : {label['fr']}, déposé par {author.name} "
            f"le {_when_fr(now)}. Ouvrez « Documents » pour le lire.",
            "en": f"New document in your record: {label['en']}, added by {author.name} on "
            f'{_when_en(now)}. Open "Documents" to read it.',
        },
        now=now,
        document_id=doc_id,
    )


def emergency_access(
    s: Session, record: Record, who: Practitioner, mode: str, reason: str | None, now: datetime
) -> None:
    words = _mode_words(mode)
    why_fr = f" Motif donné : {reason}." if reason else ""
    why_en = f" Reason given: {reason}." if reason else ""
    msg = {
        "fr": f"Accès à votre dossier {words['fr']} par {who.name} ({who.facility}) le "
        f"{_when_fr(now)}.{why_fr} Vous pouvez voir le détail dans « Traces d'accès » ; si "
        "vous ne reconnaissez pas cet accès, bloquez ce professionnel.",
        "en": f"Your record was opened {words['en']} by {who.name} ({who.facility}) on "
        f'{_when_en(now)}.{why_en} See "Access trace" for details; if you do not recognise '
        "this access, block this practitioner.",
    }
    notify_patient(
        s,
        record,
        "emergency_access",
        msg,
        now=now,
        emergency=True,
        actor_rpps=who.rpps,
        mode=mode,
        by_sms=True,
    )
    if record.attending_rpps and record.attending_rpps != who.rpps:
        attending = s.get(Practitioner, record.attending_rpps)
        if attending is not None and attending.email:
            outbox.enqueue(
                s,
                channel="email",
                recipient=attending.email,
                subject="DMP : accès en urgence / emergency access",
                # Neither who nor why: an email is no place for either (see OUTSIDE).
                body=(
                    f"Le dossier d'un patient dont vous êtes le médecin traitant a été ouvert "
                    f"{words['fr']} le {_when_fr(now)}. Ouvrez son DMP pour lire le détail.\n"
                    f"A record of a patient you are the attending doctor of was opened "
                    f"{words['en']} on {_when_en(now)}. Open their record to read the details.\n"
                ),
                record_id=record.id,
                now=now,
            )


def authorisation(s: Session, record: Record, who: Practitioner, now: datetime) -> None:
    notify_patient(
        s,
        record,
        "authorisation",
        {
            "fr": f"{who.name} ({who.facility}) a maintenant accès à votre dossier, depuis le "
            f"{_when_fr(now)}. Vous pouvez retirer cet accès dans « Professionnels ».",
            "en": f"{who.name} ({who.facility}) now has access to your record, since "
            f'{_when_en(now)}. You can remove this access in "Practitioners".',
        },
        now=now,
        actor_rpps=who.rpps,
    )


def record_opened(s: Session, record: Record, who: Practitioner, now: datetime) -> None:
    """The patient's first notification: who opened the record, and what comes next."""
    notify_patient(
        s,
        record,
        "record_opened",
        {
            "fr": f"{who.name} ({who.facility}) a ouvert votre dossier médical partagé le "
            f"{_when_fr(now)}. Vous l'avez activé avec le code reçu par courrier. Si vous "
            "n'avez pas demandé ce dossier, contactez le support.",
            "en": f"{who.name} ({who.facility}) opened your shared medical record on "
            f"{_when_en(now)}. You activated it with the code you received by letter. If you "
            "did not ask for this record, contact support.",
        },
        now=now,
        actor_rpps=who.rpps,
        by_sms=True,
    )


def new_device(s: Session, record: Record, now: datetime) -> None:
    notify_patient(
        s,
        record,
        "new_device",
        {
            "fr": f"Connexion à votre dossier depuis un nouvel appareil le {_when_fr(now)}. Si ce "
            "n'était pas vous : ouvrez l'écran 10 « Mes appareils et sessions » (depuis le menu "
            "principal), terminez cette session et oubliez cet appareil, puis changez votre mot "
            "de passe sur ce même écran (« Changer mon mot de passe ») et contactez le support.",
            "en": f"Login to your record from a new device on {_when_en(now)}. If this was not "
            'you: open screen 10 "My devices and sessions" (from the main menu), end that '
            "session and forget that device, then change your password on that same screen "
            '("Change my password") and contact support.',
        },
        now=now,
    )


def password_changed(s: Session, record: Record, now: datetime, ended: int) -> None:
    """The password was changed: told in the app, by email and by SMS."""
    notify_patient(
        s,
        record,
        "password_changed",
        {
            "fr": f"Votre mot de passe a été changé le {_when_fr(now)} ; vos autres sessions "
            f"({ended}) ont été terminées. Si ce n'était pas vous, contactez le support "
            "immédiatement.",
            "en": f"Your password was changed on {_when_en(now)}; your other sessions "
            f"({ended}) were ended. If this was not you, contact support at once.",
        },
        now=now,
        by_sms=True,
    )


def logged_out_everywhere(s: Session, record: Record, now: datetime, ended: int) -> None:
    notify_patient(
        s,
        record,
        "logged_out_everywhere",
        {
            "fr": f"Toutes vos sessions ({ended}) ont été terminées le {_when_fr(now)}, celle "
            "qui l'a demandé comprise. Si ce n'était pas vous, changez votre mot de passe "
            "(écran 10 « Mes appareils et sessions ») et contactez le support.",
            "en": f"All your sessions ({ended}) were ended on {_when_en(now)}, including the "
            'one that asked. If this was not you, change your password (screen 10 "My devices '
            'and sessions") and contact support.',
        },
        now=now,
    )


def exported(s: Session, record: Record, now: datetime) -> None:
    notify_patient(
        s,
        record,
        "export",
        {
            "fr": f"Votre dossier entier a été exporté le {_when_fr(now)}. Si ce n'était pas "
            "vous, changez votre mot de passe, puis regardez les accès à votre dossier.",
            "en": f"Your whole record was exported on {_when_en(now)}. If this was not you, "
            "change your password, then look at who accessed your record.",
        },
        now=now,
        by_sms=True,
    )


def awaiting_consultation(
    s: Session, record: Record, doc_id: str, reveal: datetime, now: datetime
) -> None:
    notify_patient(
        s,
        record,
        "awaiting_consultation",
        {
            "fr": "Un document de votre dossier attend une consultation d'annonce avec un médecin. "
            f"Il vous sera présenté lors de ce rendez-vous, et visible ici au plus tard le "
            f"{_day(reveal, 'fr')}. Vous pouvez contacter votre médecin pour fixer ce rendez-vous.",
            "en": "A document in your record awaits an announcement consultation with a doctor. "
            "It will be explained to you at that appointment, and visible here by "
            f"{_day(reveal, 'en')} at the latest. You can contact your doctor to arrange it.",
        },
        now=now,
        document_id=doc_id,
    )


def password_reset(s: Session, record: Record, now: datetime) -> None:
    """A forgotten password was reset: told on both channels, and in the app."""
    notify_patient(
        s,
        record,
        "password_reset",
        {
            "fr": f"Votre mot de passe a été changé le {_when_fr(now)} (mot de passe oublié). "
            "Toutes vos sessions ont été fermées et vos appareils oubliés. Si ce n'était pas "
            "vous, contactez le support tout de suite.",
            "en": f"Your password was changed on {_when_en(now)} (forgotten password). Every "
            "session was ended and your devices forgotten. If this was not you, contact support "
            "at once.",
        },
        now=now,
        by_sms=True,
    )


def authenticator_reenrolled(s: Session, record: Record, now: datetime) -> None:
    """A new authenticator was issued (the old secret revoked): told on both channels."""
    notify_patient(
        s,
        record,
        "authenticator_reenrolled",
        {
            "fr": f"Une nouvelle application d'authentification a été associée à votre dossier "
            f"le {_when_fr(now)} ; l'ancienne ne fonctionne plus. Si ce n'était pas vous, "
            "changez votre mot de passe et contactez le support.",
            "en": f"A new authenticator app was linked to your record on {_when_en(now)}; the "
            "old one no longer works. If this was not you, change your password and contact "
            "support.",
        },
        now=now,
        by_sms=True,
    )


# The support desk (routes/support.py): what it did, when, and what to do if the patient did
# not ask for it. The agent's name is in the trace, not in the message.
_SUPPORT = {
    "support_lookup": (
        "Le support a consulté l'état de votre compte (connexion, blocage, moyens de contact "
        "masqués ; jamais vos documents) le {fr}. Si vous n'avez pas appelé le support, "
        "regardez les accès à votre dossier et changez votre mot de passe.",
        "The support desk looked up your account's state (login, lock, masked contact details; "
        "never your documents) on {en}. If you did not call the support desk, look at who "
        "accessed your record and change your password.",
    ),
    "support_unlock": (
        "Le support a débloqué votre compte le {fr} : vous pouvez vous connecter de nouveau. "
        "Si vous n'avez pas appelé le support, changez votre mot de passe.",
        "The support desk unlocked your account on {en}: you can log in again. If you did not "
        "call the support desk, change your password.",
    ),
    "support_activation": (
        "Le support vous a envoyé un nouveau code d'activation le {fr}. Si vous n'avez pas "
        "appelé le support, ne l'utilisez pas et contactez-le.",
        "The support desk sent you a new activation code on {en}. If you did not call the "
        "support desk, do not use it and contact them.",
    ),
}


def support(s: Session, record: Record, kind: str, now: datetime) -> None:
    """Tell the patient what the support desk did (``kind``: a key of ``_SUPPORT``). An unlock
    goes out by email and SMS too (a locked-out patient cannot open the app to read it); a
    lookup and a new code stay in the app."""
    fr, en = _SUPPORT[kind]
    outside = kind in OUTSIDE
    notify_patient(
        s,
        record,
        kind,
        {"fr": fr.format(fr=_when_fr(now)), "en": en.format(en=_when_en(now))},
        now=now,
        by_email=outside,
        by_sms=outside,
    )
