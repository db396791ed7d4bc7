"""Labels of the public contact form in the desk's five languages.

Kept apart from the agent UI's catalogues: the form is shown to customers, in the language they
ask for (``?lang=``, then ``Accept-Language``), falling back to the workspace's language.
"""

from __future__ import annotations

# code -> (name in its own script, writing direction)
LANGS: dict[str, tuple[str, str]] = {
    "en": ("English", "ltr"),
    "da": ("Dansk", "ltr"),
    "hi": ("हिन्दी", "ltr"),
    "ur": ("اردو", "rtl"),
    "te": ("తెలుగు", "ltr"),
}

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "chat_title": "Your conversation with {name}",
        "chat_link": "Follow your conversation and read our reply here (keep this link private):",
        "you": "You",
        "reply": "Write a reply",
        "refresh": "Check for replies",
        "pending": "Your message is on its way to our team. Check again in a moment.",
        "title": "Contact {name}",
        "intro": "Write to us and we will answer by email.",
        "name": "Your name (optional)",
        "email": "Your email address",
        "subject": "Subject (optional)",
        "message": "Your message",
        "send": "Send",
        "thanks_title": "Thank you",
        "thanks": "We have your message and will reply by email.",
        "another": "Send another message",
        "too_many": "Too many messages. Please try again in {minutes} minutes.",
        "fix": "Please check the marked fields.",
        "required": "is required",
        "leave_empty": "Leave this field empty",
    },
    "da": {
        "chat_title": "Din samtale med {name}",
        "chat_link": "Følg samtalen og læs vores svar her (hold linket for dig selv):",
        "you": "Dig",
        "reply": "Skriv et svar",
        "refresh": "Se efter svar",
        "pending": "Din besked er på vej til vores team. Kig igen om lidt.",
        "title": "Kontakt {name}",
        "intro": "Skriv til os, så svarer vi på e-mail.",
        "name": "Dit navn (valgfrit)",
        "email": "Din e-mailadresse",
        "subject": "Emne (valgfrit)",
        "message": "Din besked",
        "send": "Send",
        "thanks_title": "Tak",
        "thanks": "Vi har modtaget din besked og svarer på e-mail.",
        "another": "Send en ny besked",
        "too_many": "For mange beskeder. Prøv igen om {minutes} minutter.",
        "fix": "Tjek venligst de markerede felter.",
        "required": "skal udfyldes",
        "leave_empty": "Lad dette felt være tomt",
    },
    "hi": {
        "chat_title": "{name} के साथ आपकी बातचीत",
        "chat_link": "अपनी बातचीत और हमारा जवाब यहाँ देखें (यह लिंक निजी रखें):",
        "you": "आप",
        "reply": "जवाब लिखें",
        "refresh": "जवाब देखें",
        "pending": "आपका संदेश हमारी टीम तक पहुँच रहा है। थोड़ी देर में फिर देखें।",
        "title": "{name} से संपर्क करें",
        "intro": "हमें लिखें, हम ईमेल से जवाब देंगे।",
        "name": "आपका नाम (वैकल्पिक)",
        "email": "आपका ईमेल पता",
        "subject": "विषय (वैकल्पिक)",
        "message": "आपका संदेश",
        "send": "भेजें",
        "thanks_title": "धन्यवाद",
        "thanks": "हमें आपका संदेश मिल गया है, हम ईमेल से जवाब देंगे।",
        "another": "एक और संदेश भेजें",
        "too_many": "बहुत सारे संदेश। कृपया {minutes} मिनट बाद फिर कोशिश करें।",
        "fix": "कृपया चिह्नित फ़ील्ड जाँचें।",
        "required": "आवश्यक है",
        "leave_empty": "इस फ़ील्ड को खाली छोड़ें",
    },
    "ur": {
        "chat_title": "{name} کے ساتھ آپ کی گفتگو",
        "chat_link": "اپنی گفتگو اور ہمارا جواب یہاں دیکھیں (یہ لنک نجی رکھیں):",
        "you": "آپ",
        "reply": "جواب لکھیں",
        "refresh": "جوابات دیکھیں",
        "pending": "آپ کا پیغام ہماری ٹیم تک پہنچ رہا ہے۔ تھوڑی دیر بعد دوبارہ دیکھیں۔",
        "title": "{name} سے رابطہ کریں",
        "intro": "ہمیں لکھیں، ہم ای میل کے ذریعے جواب دیں گے۔",
        "name": "آپ کا نام (اختیاری)",
        "email": "آپ کا ای میل پتہ",
        "subject": "موضوع (اختیاری)",
        "message": "آپ کا پیغام",
        "send": "بھیجیں",
        "thanks_title": "شکریہ",
        "thanks": "ہمیں آپ کا پیغام مل گیا ہے، ہم ای میل کے ذریعے جواب دیں گے۔",
        "another": "ایک اور پیغام بھیجیں",
        "too_many": "بہت زیادہ پیغامات۔ براہ کرم {minutes} منٹ بعد دوبارہ کوشش کریں۔",
        "fix": "براہ کرم نشان زدہ خانے دیکھیں۔",
        "required": "ضروری ہے",
        "leave_empty": "اس خانے کو خالی چھوڑ دیں",
    },
    "te": {
        "chat_title": "{name}తో మీ సంభాషణ",
        "chat_link": "మీ సంభాషణను, మా సమాధానాన్ని ఇక్కడ చూడండి (ఈ లింక్‌ను గోప్యంగా ఉంచండి):",
        "you": "మీరు",
        "reply": "సమాధానం రాయండి",
        "refresh": "సమాధానాల కోసం చూడండి",
        "pending": "మీ సందేశం మా బృందానికి చేరుతోంది. కొద్దిసేపటి తర్వాత మళ్లీ చూడండి.",
        "title": "{name}ను సంప్రదించండి",
        "intro": "మాకు రాయండి, మేము ఈమెయిల్ ద్వారా సమాధానం ఇస్తాము.",
        "name": "మీ పేరు (ఐచ్ఛికం)",
        "email": "మీ ఈమెయిల్ చిరునామా",
        "subject": "విషయం (ఐచ్ఛికం)",
        "message": "మీ సందేశం",
        "send": "పంపండి",
        "thanks_title": "ధన్యవాదాలు",
        "thanks": "మీ సందేశం మాకు అందింది, మేము ఈమెయిల్ ద్వారా సమాధానం ఇస్తాము.",
        "another": "మరో సందేశం పంపండి",
        "too_many": "చాలా ఎక్కువ సందేశాలు. దయచేసి {minutes} నిమిషాల తర్వాత మళ్లీ ప్రయత్నించండి.",
        "fix": "దయచేసి గుర్తించిన ఫీల్డ్‌లను చూడండి.",
        "required": "అవసరం",
        "leave_empty": "ఈ ఫీల్డ్‌ను ఖాళీగా ఉంచండి",
    },
}


def labels(lang: str) -> dict[str, str]:
    return _LABELS.get(lang, _LABELS["en"])


def choose_language(asked: str | None, accept_language: str | None, fallback: str) -> str:
    """``?lang=`` if we have it, else the first Accept-Language we have, else the workspace's."""
    if asked and asked in LANGS:
        return asked
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in LANGS:
            return code
    return fallback if fallback in LANGS else "en"
