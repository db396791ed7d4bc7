"""A small hand-written cross-language lexicon for care conversations.

Each concept lists the words customers and agents use for it in English, Danish, Hindi
(Devanagari and romanised), Urdu and Telugu. Retrieval adds the concept as an extra feature to
every text that contains one of its words, so a Danish "refusion" finds English "refund" replies.
Written by hand from general language knowledge (no  set); extend it as workspaces need.
Two-word entries match adjacent words.
"""

from __future__ import annotations

CONCEPTS: dict[str, str] = {
    "refund": "refund refunds refunded refunding reimburse reimbursement "
    "refusion refundering tilbagebetaling   "
    "रिफंड रिफ़ंड  धनवापसी refund   "
    "ریفنڈ  రీఫండ్  ",
    "order": "order orders ordered purchase purchases ordre ordrer ordren bestilling bestillingen "
    "købet ऑर्डर आर्डर ऑडर  آرڈر آڈر ఆర్డర్ ఆర్డర్లు",
    "delivery": "delivery deliver delivered shipping shipment shipped package parcel courier "
    "levering leveret leveringen pakke pakken forsendelse "
    "डिलीवरी डिलिवरी पार्सल पैकेज  ڈیلیوری پارسل پیکج డెలివరీ పార్సెల్ ప్యాకేజీ",
    "late": "late delay delayed waiting  forsinket forsinkelse venter "
    " देरी लेट इंतज़ार इंतजार   تاخیر دیر انتظار  ఆలస్యం  ",
    "cancel": "cancel cancelled canceled cancellation cancelling canceling annuller annullere "
    "annulleret afbestil afbestille opsig opsige कैंसिल रद्द  منسوخ کینسل "
    "రద్దు క్యాన్సిల్",
    "account": "account profile login  konto kontoen profil खाता अकाउंट एकाउंट khata "
    "account اکاؤنٹ کھاتہ ఖాతా అకౌంట్",
    "password": "password passwords reset forgot adgangskode kodeord glemt nulstil "
    "पासवर्ड  पासवर्ड  پاس ورڈ پاسورڈ పాస్వర్డ్ పాస్‌వర్డ్",
    "payment": "payment pay paid charge charged card billing debit betaling betalt betale "
    "kort trukket opkrævning पेमेंट भुगतान कार्ड चार्ज  ادائیگی پیمنٹ کارڈ چارج "
    "చెల్లింపు పేమెంట్ కార్డు ఛార్జ్",
    "invoice": "invoice invoices bill receipt faktura fakturaen kvittering इनवॉइस बिल रसीद "
    "انوائس بل رسید ఇన్వాయిస్ బిల్లు రసీదు",
    "price": "price prices pricing cost costs quote plan plans pris priser tilbud koster "
    "कीमत दाम प्राइस qeemat قیمت پرائس ధర ధరలు",
    "broken": "broken damaged defective faulty   "
    "ødelagt defekt  टूटा खराब ख़राब   "
    "ٹوٹا خراب  పగిలిన పాడైన  ",
    "outage": "outage down offline  network signal internet wifi connection "
    "nede udfald forbindelse netværk internettet नेटवर्क इंटरनेट सिग्नल  "
    "نیٹ ورک انٹرنیٹ سگنل నెట్‌వర్క్ ఇంటర్నెట్ సిగ్నల్",
    "app": "app application update crash crashes crashing bug appen opdatering crasher "
    "ऐप एप अपडेट ایپ اپ ڈیٹ యాప్ అప్‌డేట్",
    "return": "return returns exchange  returnere returnering ombytning bytte "
    "वापसी रिटर्न एक्सचेंज واپسی ریٹرن ఎక్స్ఛేంజ్ రిటర్న్",
    "address": "address  adresse adressen leveringsadresse पता एड्रेस pata پتہ ایڈریس చిరునామా అడ్రస్",
    "email": "email e-mail mail inbox mailadresse e-mailadresse ईमेल मेल ای میل ఈమెయిల్ మెయిల్",
    "phone": "phone call callback  mobile telefon telefonnummer ring opkald mobil "
    "फ़ोन फोन कॉल  मोबाइल فون کال  موبائل ఫోన్ కాల్  మొబైల్",
    "human": "human agent person representative someone   menneske medarbejder "
    "tale snakke इंसान एजेंट  insaan  انسان ایجنٹ  మనిషి ఏజెంట్ మాట్లాడ",
    "thanks": "thanks thank grateful appreciate great awesome love amazing tak tusind "
    "fantastisk super धन्यवाद शुक्रिया बढ़िया shukriya dhanyavad شکریہ زبردست "
    "ధన్యవాదాలు బాగుంది",
    "complaint": "complaint complain terrible awful worst horrible angry disappointed "
    "klage utilfreds elendig skuffet शिकायत बेकार निराश shikayat bekaar شکایت مایوس بیکار "
    "ఫిర్యాదు నిరాశ",
    "subscription": "subscription subscribe unsubscribe membership newsletter abonnement "
    "nyhedsbrev medlemskab सब्सक्रिप्शन सदस्यता سبسکرپشن رکنیت సబ్‌స్క్రిప్షన్ సభ్యత్వం",
    "flight": "flight flights plane airline booking seat baggage luggage bag fly flyet "
    "bagage booking sæde फ्लाइट उड़ान सामान बैग فلائٹ پرواز سامان ఫ్లైట్ విమానం లగేజ్",
    "ride": "ride driver trip uber taxi car tur chauffør chaufføren bil राइड ड्राइवर "
    "ٹرپ ڈرائیور రైడ్ డ్రైవర్",
    "wrong": "wrong incorrect mistake error forkert fejl fejlen गलत ग़लत गड़बड़ galat غلط "
    "غلطی తప్పు పొరపాటు",
    "privacy": "privacy  data gdpr   persondata privatliv slet गोपनीयता  پرائیویسی  గోప్యత ",
}


def _fold(word: str) -> str:
    return word.casefold()


def build_index() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """(single word -> concept, (word, next word) -> concept)."""
    words: dict[str, str] = {}
    pairs: dict[tuple[str, str], str] = {}
    # Two-word entries are written with a space inside one concept's list; we recognise them
    # by pairing each word with the next only when that pair is listed below.
    for concept, text in CONCEPTS.items():
        for token in text.split():
            words.setdefault(_fold(token), concept)
    for concept, phrases in PHRASES.items():
        for phrase in phrases:
            parts = phrase.split()
            if len(parts) == 2:  # only adjacent word pairs are matched
                pairs[(_fold(parts[0]), _fold(parts[1]))] = concept
    return words, pairs


# Phrases whose words alone are too general ("money", "back") but together name a concept.
PHRASES: dict[str, tuple[str, ...]] = {
    "refund": ("money back", "pengene tilbage", "penge tilbage", "पैसे वापस", "paise wapas",
               "رقم واپس", "پیسے واپس", "డబ్బు వాపసు"),
    "broken": ("not working", "virker ikke", "काम नहीं", "పనిచేయడం లేదు", "کام نہیں"),
    "late": ("not arrived", "ikke kommet", "नहीं आया", "nahi aaya", "نہیں آیا", "రాలేదు ఇంకా"),
    "address": ("shipping address",),
    "privacy": ("my data", "personal data"),
    "human": ("real person", "customer service", "kundeservice", "कस्टमर केयर", "کسٹمر کیئر"),
}  # fmt: skip

# Function words that match everything and explain nothing; left out of single-word features
# (word pairs keep them, so "not working" / "virker ikke" still count).
_STOPWORD_TEXT = """
    a an the and or but if of to in on at for with from by is are was were be been am i you he
    she it we they me my your our us this that these those do does did have has had not no so as
    up out what when how why can could will would just get got its im i'm dont don't there here
    og i på at det er en et den de til af for med som har jeg du vi ikke men så kan der var min
    mit mine din dit fra om nu her også hvad hvor når skal vil vores jer dig mig os sig have være
    bare lige hvis eller blive them their all any some about should being
    आपके आपका आपकी करना कर लिए हमें हमारा मुझे
    آپ کے کرنا لیے ہمیں مجھے
    में से है हैं का की के को और पर यह वह भी नहीं तो ही था थी थे हो कि एक मैं आप हम क्या मेरा
    मेरी मेरे
    میں سے ہے ہیں کا کی کے کو اور پر یہ وہ بھی نہیں تو ہی تھا تھی تھے ہو کہ ایک آپ ہم کیا میرا
    میری میرے
    ఈ ఆ మరియు లో నా మీ నేను మేము ఏమి కూడా ఉంది
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())
