"""How a report reads what a student writes: descriptions, corrections, refusals, fillers.

Pure functions of the text, used by :mod:`flows.escalation` while it
collects a report: whether a message describes the case or only thanks,
what of it is the description once the personal data is taken out, which
field a correction names, whether the student calls the report off.
"""
from __future__ import annotations

import re

from flows import entities, intents, report_right
from flows.messages import Attachment


#: Words that name a field, to understand "corregir el nss" or "la curp esta mal".
FIELD_WORDS = {
    "student_id": ("id", "matricula", "expediente", "estudiante"),
    "name": ("nombre", "apellido", "apellidos", "name", "me llamo"),
    "nss": ("nss", "seguro social", "seguridad social", "numero del imss"),
    "curp": ("curp",),
    "description": ("detalle", "descripcion", "problema", "duda", "mensaje"),
}


#: Words of a bare request for a person: without more, there is no question yet.
PERSON_WORDS = frozenset({
    "quiero", "hablar", "con", "una", "un", "persona", "humano", "asesor", "asesora", "alguien",
    "real", "agente", "pasame", "pasa", "comunicame", "me", "atienda", "porfa", "por", "favor",
    "ya", "ayuda", "necesito", "talk", "to", "a", "person", "human", "pls", "please", "hay",
    "ahi", "alguno", "operador", "gente", "de", "verdad", "la", "mesa", "q", "que", "can", "i",
    "ocupo", "hola", "buenas", "tardes", "dias", "noches", "oye", "el", "en", "contacto",
})


#: The words of PERSON_WORDS that name whom is asked for (not "ayuda", "porfa": a plea).
_WHOM = frozenset({"persona", "humano", "asesor", "asesora", "alguien", "agente", "operador", "gente", "mesa",
                   "person", "human"})


def only_asks_for_person(text: str) -> bool:
    """ "ASESOR!!!!", "quiero hablar con una persona ya": a person asked for, and nothing else said
    (however it is shouted or punctuated): no description of anything."""
    words = [re.sub(r"([a-z])\1+", r"\1", w) for w in intents.words(text)]  # "asesoooor"
    return bool(words) and all(w in PERSON_WORDS for w in words) and any(w in _WHOM for w in words)


#: Words of a correction ("no, el nombre está mal, es …"): not part of the new value.
CORRECTION_WORDS = frozenset({
    "no", "esta", "estan", "mal", "bien", "equivocado", "equivocada", "incorrecto", "incorrecta",
    "corrige", "corrigelo", "corrigela", "corregir", "cambia", "cambialo", "cambiala", "cambiar",
    "pon", "ponle", "ponlo", "ponla", "seria", "correcto", "correcta", "perdon", "oops", "ups",
    "en", "realidad", "bueno", "mejor", "porfa", "por", "favor", "lo", "le", "puse", "escribi",
    "que", "a", "al", "del", "los", "las",
})


#: A correction that names no field of the summary ("el correo lo puse mal") goes to the detail.
CORRECTION_CUE = re.compile(
    r"\b(mal|equivoc\w*|incorrect\w*|error\w*|cambi\w*|correg\w*|corrij\w*|falt\w*|tambien|ademas|otra cosa)\b"
)


#: "no sé mi NSS", "mi nss no lo tengo", "no tengo nss" inside a longer message.
_NSS_NAME = r"(?:nss|numero de (?:seguro|seguridad) social|seguro social|numero del imss)"


NSS_UNKNOWN = re.compile(
    r"\b(?:no (?:me )?(?:se|lo se|tengo|conozco|recuerdo|acuerdo de)|ni idea de|desconozco|nose|olvide)"
    rf" (?:cual es |de )?(?:mi |el |un )?{_NSS_NAME}\b"
    rf"|\b{_NSS_NAME} (?:no (?:me )?(?:lo )?(?:se|tengo|conozco|recuerdo|encuentro)|ni idea)\b"
    rf"|\b(?:i )?(?:don ?t|do not) (?:know|have|remember) (?:my |an |the )?{_NSS_NAME}\b"
)


_QUOTE = re.compile(r"[\"'“”‘’«»]")
#: "…que dice: NSS no válido", "me sale que el correo no coincide": the error's words follow.
_SAYS = re.compile(r"\b(?:dice|decia|sale|salio|aparece|aparecio|marca|marco) que (?:\w+ )+\w+")
_SAYS_COLON = re.compile(r"\b(?:dice|dec[ií]a|sale|sali[oó]|aparece|apareci[oó]|marca|marc[oó])\s*:\s*\S+\s+\S+", re.IGNORECASE)


#: "no quiero dar mis datos", "prefiero no compartir mi CURP": the student stops the report.
_REFUSES_DATA = re.compile(
    r"\bno acepto(?: el aviso| tu aviso| su aviso)?\b|\bno doy mis datos\b|"
    r"\b(?:no (?:te |les )?(?:quiero|kiero|voy a|puedo|deseo|me gustaria|pienso)|prefiero no|mejor no)"
    r" (?:dar|darte|darles|dar te|compartir|compartirte|pasar|pasarte|mandar|mandarte|enviar|enviarte|proporcionar)"
    r"(?: (?:mis|mi|los|el|la|esos|esa|ese|tus|ningun|ningunos))?"
    r" (?:datos|dato|informacion|info|nss|curp|matricula|id|nombre|numero)\b"
    # "no te voy a dar nada", "no te doy nada": nothing at all
    r"|\bno (?:te |les )?(?:voy a dar|doy|dare|paso|mando|quiero dar)(?:te|les)? nada\b"
)


#: The student calls the report off.
_CANCELS = re.compile(
    r"^(?:(?:no|mejor no|mejor|ya no|ok|bueno|pues|sabes que|oye|ah|a|nmms|nombre|chale|ntp|mmm*|este|no no)\s+)*"
    r"(?:cancel\w*|(?:mejor )?(?:al rato|luego|despues|mas tarde|ahorita|otro dia|manana) (?:lo|la|le) (?:veo|checo|reviso|intento|hago|sigo|busco|termino)(?: yo)?(?: otra vez| de nuevo| con calma)?|(?:mejor )?(?:al rato|luego|despues|mas tarde|otro dia|manana) (?:te |les )?(?:escribo|regreso|vuelvo|sigo)|olvidalo|olvidelo|olvida(?:lo)? eso|ya no|mejor no|nel|(?:mejor )?asi (?:dejalo|dejale)|mejor asi|ya no (?:importa|es necesario|hace falta|lo necesito|quiero)"
    r"|dejalo(?: asi)?|mejor dejalo|ya no hagas nada|no hagas (?:el|ningun) reporte|ya se resolvio|ya lo resolvi"
    r"|ya lo (?:corregi|arregle|solucione|pude corregir|pude arreglar)"
    r"|ya (?:lo |me lo |me )?resolvieron|ya se soluciono(?: solo)?|ya vi que si (?:me )?(?:la )?guardo"
    r"|ya no quiero (?:seguir|continuar)(?: con esto| con el reporte)?|(?:mejor )?lo dejo asi"
    r"|no quiero (?:el |un |ningun |ese )?reporte|no quiero hablar con nadie"
    # "ya no quiero mandarlo", "no lo mandes", "mejor no lo envíes"
    r"|(?:ya )?no (?:lo |la )?quiero (?:mandar|enviar)(?:lo|la)?|(?:ya )?no (?:lo |la )?(?:mandes|envies|mandamos|enviamos))"
    r"(?:\s+(?:el|mi)\s+reporte)?(?:\s+(?:gracias|porfa|por favor|ya|solo|sola|yo|yo solo|yo sola|ya no|mejor no|asi"
    r"|mejor|mejor asi|no importa|ahorita|al rato|luego|despues|mas tarde|otra vez|de nuevo"
    r"|(?:ahorita|al rato|luego|despues|mas tarde) (?:lo|la|le) (?:veo|checo|reviso|intento|hago|sigo)(?: otra vez| de nuevo)?))*$"
)


#: Said outright anywhere in a message: "ya lo resolví yo, cancela el reporte".
_CANCEL_REPORT = re.compile(
    r"\b(?:cancel\w*|borr\w*|quit\w*|elimin\w*) (?:el |mi |ese |este )?(?:reporte|ticket|caso)\b|\bcancel\w* (?:esto|eso)\b"
)


#: "cancelar, …", "cancela. …": the word first, set apart.
_CANCEL_FIRST = re.compile(r"\s*(?:ok\s*,?\s*|no\s*,?\s*|mejor\s+)?cancel(?:a|ar|alo|en|enlo)\s*[,.;!]", re.IGNORECASE)
#: "no quiero reporte, nomás dime si lo pierdo": anywhere in the message.
_NO_REPORT = re.compile(r"\bno quiero (?:el |un |ningun |ese )?reporte\b|\bno quiero hablar con nadie\b")


def cancels(text: str) -> bool:
    """ "cancelar", "olvídalo", "ya no importa", "ya lo resolví": the student calls the report off."""
    folded = " ".join(intents.words(text))
    if _CANCEL_REPORT.search(folded) or _NO_REPORT.search(folded):
        return True
    if _CANCEL_FIRST.match(text) and not intents.is_question(text):
        return True  # "cancelar, mejor les hablo por teléfono": the word first, then why
    return not intents.is_question(text) and bool(_CANCELS.match(folded))  # "¿ya me resolvieron?" asks


#: "mi CURP no te la doy", "no te doy mi NSS": one item refused, the rest may come.
_REFUSES_FIELD = re.compile(
    r"\b(?:mi |la |el )?(curp|nss)(?: no| nel| eso no)(?: te| se| les)? (?:la|lo) (?:doy|dare|paso|mando)\b"
    r"|\bno (?:te |les |se )?(?:doy|dare|paso|mando|voy a dar|quiero dar) (?:mi |la |el )?(curp|nss)\b"
    r"|\b(?:la |el |mi )?(curp|nss) no\b(?=.*\bya te dije\b)|\bya te dije que (?:la |el |mi )?(curp|nss) no\b"
)


def refused_field(text: str) -> str | None:
    """The one item the student will not give ("mi CURP no te la doy"), or None."""
    m = _REFUSES_FIELD.search(" ".join(intents.words(text)))
    return next((g for g in m.groups() if g), None) if m else None


#: A question about the privacy of the data: what is kept, who sees it, deleting it.
_PRIVACY_QUESTION = re.compile(
    r"\baviso de privacidad\b|\b(?:que|cuales) datos (?:guardan|tienen|tienes|guardas|se guardan)\b"
    r"|\b(?:borr|elimin)\w* (?:mis|todos mis|mi|sus|todos sus|su) (?:datos|informacion|info)\b"
    r"|\bquien (?:ve|va a ver|puede ver|tiene|mira|revisa) (?:mis|mi|sus|su) (?:datos|curp|nss|informacion)\b"
    r"|\bpara que (?:quieres|quieren|necesitas|necesitan|ocupas|ocupan|piden|pides) (?:mis|mi|sus|su) (?:datos|curp|nss|id|nombre)\b"
    r"|\b(?:es seguro|esta seguro|no es peligroso|es confiable|no hay riesgo|no pasa nada si|no hay problema si)"
    r" (?:darte|darles|dar|mandarte|mandarles|mandar|pasarte|pasarles|pasar|enviar|enviarte|compartir) (?:mis |los |tus |sus )?datos\b"
    r"|\bproteccion de (?:mis |los |sus )?datos\b|\bque hacen con (?:mis|sus) datos\b"
    r"|\b(?:guardan|guardas|almacenan|conservan|se quedan con) (?:mi|mis|su|sus|el|la) (?:datos|nss|curp|informacion|info)\b"
)


#: "mejor borra mis datos", "quiero que eliminen mi info" (a parent's "borra sus datos"): a request, not a
#: question about it.
_DELETE_REQUEST = re.compile(
    r"\b(?:borra|borren|borrame|borrenme|elimina|eliminen|eliminame|quita|quiten)\b(?: \w+)? "
    r"(?:(?:todos )?(?:mis|sus) datos|(?:mi|su) (?:informacion|info)|lo que te (?:di|mande|pase))\b"
    r"|\bquiero que (?:borres|borren|elimines|eliminen) (?:todos )?(?:mis|sus) (?:datos|informacion)\b"
)


def asks_to_delete(text: str) -> bool:
    """ "borra mis datos" said as a request ("¿borran mis datos?" asks about it)."""
    return bool(_DELETE_REQUEST.search(" ".join(intents.words(text)))) and not intents.is_question(text)


def asks_about_privacy(text: str) -> bool:
    return bool(_PRIVACY_QUESTION.search(" ".join(intents.words(text))))


#: "mándalo así", "ya envíalo": with a report under way, send it as it is (not "resume it").
SEND_AS_IT_IS = re.compile(r"\b(?:mandalo|envialo|mandala|enviala|mandenlo|envienlo)\b")


def refuses_data(text: str) -> bool:
    return bool(_REFUSES_DATA.search(" ".join(intents.words(text))))


#: Words that say nothing of a case: thanks, laughter, promises to send something later.
_FILLER = frozenset(
    """gracias grax muchas mil ok okey okay va vale sale sip si no bueno pues jaja jajaja jeje
    ahorita luego despues al rato te los mando lo mando mando paso ya listo perfecto
    nada mas esta bien entendido de acuerdo igualmente perdon perdona disculpa disculpe sorry
    oye este mmm ah ay ups oops xd lol""".split()
)


def meaningful(text: str) -> bool:
    """A description says something: not a bare yes/no, thanks, filler or an emoji."""
    words = intents.words(text)
    if not words:
        return False
    if len(words) <= 2 and (intents.yes_no(text) is not None or intents.says_dont_know(text)):
        return False
    if all(w in _FILLER or w.startswith(("jaj", "jej", "jsj", "haha")) for w in words):
        return False
    return any(len(w) > 2 or w.isdigit() for w in words)


_ANSWER_WAIT = re.compile(
    r"\b(?:contest\w*|respond\w*|respuesta\w*|me (?:hablan|marcan|escriben|llaman)"
    r"|corrig\w*|correg\w*|arregl\w*|resuelv\w*|resolv\w*|solucion\w*|atiend\w*)\b"
)


def asks_when_answered(text: str) -> bool:
    """A question about when the desk will answer ("¿en cuánto me contestan?")."""
    return intents.is_question(text) and bool(_ANSWER_WAIT.search(" ".join(intents.words(text))))


def adds_detail(text: str) -> bool:
    """A statement of a few words with no datum in it: more detail for the report, not a failed datum."""
    words = intents.words(text)
    return (len(words) >= 3 and not any(ch.isdigit() for ch in text) and not intents.is_question(text)
            and intents.yes_no(text) is None and meaningful(text) and not entities.looks_like_name(text))


def describes(reason: str, text: str, attachments: tuple[Attachment, ...]) -> bool:
    """Did the first message already say enough for staff to understand it?"""
    words = intents.words(text)
    if attachments:
        return True
    if reason == "duda_general":
        rest = [w for w in words if w not in PERSON_WORDS]
        # "¿cubre dentista?": a question of two words is a doubt told, as long as it is not the
        # request for a person itself.
        return len(rest) >= 3 or (len(rest) >= 2 and intents.is_question(text) and not intents.asks_for_a_person(text))
    if reason == "error_solicitud":
        return bool(_QUOTE.search(text) or _SAYS.search(" ".join(words)) or _SAYS_COLON.search(text)) or len(words) >= 10
    if reason == "datos_erroneos":
        folded = " ".join(words)
        named = any(w in folded for ws in FIELD_WORDS.values() for w in ws if w not in ("problema", "duda", "mensaje"))
        return named or "fecha" in folded or report_right.other_field(text) is not None
    return len(words) >= 6


def description_text(text: str) -> str:
    """What the student wrote, without the personal data in it.

    The ID, name, NSS and CURP go to the ticket's own fields; the description
    keeps the words about the problem ("me sale error al guardar, soy Juan
    Pérez id 234567 …" → "me sale error al guardar"). Whatever still looks
    like personal data is masked.
    """
    out = text
    for value in entities.find_curp_candidates(out):
        out = re.sub(re.escape(value), "\x00curp\x00", out, flags=re.IGNORECASE)
    for value in entities.find_nss_candidates(out):
        out = remove_digits(out, value, "\x00nss\x00")
    for value in entities.find_student_id_candidates(out):
        out = remove_digits(out, value, "\x00id\x00")
        out = remove_digits(out, value[5:], "\x00id\x00")
    name = entities.find_name(out) or residual_name(out.replace("\x00", " "))
    if name:
        pattern = r"\s+".join(re.escape(w) for w in name.split())
        out = re.sub(pattern, "\x00name\x00", out, flags=re.IGNORECASE)
    if "\x00" in out:
        out = _data_placeholders(_MARK.sub(lambda m: _MARKERS[m.group(1)], out))
    out = " ".join(out.split()).strip(" ,;:-")
    return entities.mask_personal(out, emails=False)


#: One character per kind of datum while a description is cleaned, and what the reader sees.
_MARK = re.compile(r"\x00(curp|nss|id|name)\x00")


_MARKERS = {"curp": "\x01", "nss": "\x02", "id": "\x03", "name": "\x04"}


_PLACEHOLDERS = {"\x01": "[CURP]", "\x02": "[NSS]", "\x03": "[ID]", "\x04": "[nombre]"}


_DATA_WORDS = re.compile(
    r"\b(?:id(?:\s+de\s+estudiante)?|matr[ií]cula|nss|curp|n[uú]mero\s+de\s+seguro\s+social"
    r"|nombre(?:\s+completo)?|soy|me\s+llamo|es|son|mis?|el|la|su|y|e|datos|aqu[ií]\s+est[aá]n)\b|[\x01-\x04]",
    re.IGNORECASE,
)


_DATA_TAIL = re.compile(r"(?:\s*(?:" + _DATA_WORDS.pattern + r"))+\s*$", re.IGNORECASE)


def _data_placeholders(text: str) -> str:
    """Clauses that are only data ("…, soy Juan Pérez id 234567") go; data inside
    a sentence becomes a placeholder, so it still reads ("dice que [NSS] no
    coincide con [CURP]")."""
    clauses = re.split(r"([,;.:]+|\n)", text)
    kept: list[str] = []
    for i in range(0, len(clauses), 2):
        clause = clauses[i]
        sep = clauses[i + 1] if i + 1 < len(clauses) else ""
        if re.search(r"[\x01-\x04]", clause) and not _DATA_WORDS.sub(" ", clause).strip():
            continue
        tail = _DATA_TAIL.search(clause)
        if tail and len(re.findall(r"[\x01-\x04]", tail.group())) >= 2:
            clause = clause[:tail.start()]  # "… al guardar soy Juan Pérez id 234567": a data dump at the end
        kept.append(re.sub(r"[\x01-\x04]", lambda m: _PLACEHOLDERS[m.group()], clause) + sep)
    return re.sub(r"\s+([,;.:])", r"\1", "".join(kept))


def residual_name(text: str) -> str | None:
    residual = leftover(re.sub(r"\x00", " ", text))
    if residual and entities.looks_like_name(residual) and len(residual.split()) >= 3:
        return residual
    return None


def remove_digits(text: str, digits: str, by: str = " ") -> str:
    pattern = r"[\s.-]*".join(re.escape(d) for d in digits)
    return re.sub(rf"(?<!\d){pattern}(?!\d)", by, text)


_CUES = re.compile(
    r"\b(mi|nombre|completo|es|soy|me|llamo|id|nss|curp|y|el|la|de estudiante|matricula|:)\b",
    re.IGNORECASE,
)


#: Words a message may open with before the data it brings.
_LEADING_FILLER = frozenset("ok okey va sale si ya bueno listo perfecto aqui estan los tengo son mis datos".split())


def leftover(text: str, extra: frozenset[str] = frozenset()) -> str:
    """What is left of the message once numbers, codes and cue words go."""
    rest = re.sub(r"[\d,;:/()\[\]#*_.!?¡¿]+", " ", text)
    rest = _CUES.sub(" ", rest)
    words = rest.split()
    while words and " ".join(intents.words(words[0])) in _LEADING_FILLER:
        words.pop(0)  # "ok, Luis García Pérez", "ya los tengo: …"
    if extra:
        words = [w for w in words if " ".join(intents.words(w)) not in extra]
    return " ".join(words)


def join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " y " + items[-1]


#: More, not instead: "también …", "además …", "otro mensaje …".
ADDS = re.compile(r"\b(?:tambien|ademas|aparte|otro|otra|igual)\b")


#: "puse …", "en vez de …": what the student typed in the application, not a datum for the report.
TYPED = re.compile(r"\b(?:puse|escribi|capture|meti|teclee|tenia|estaba|aparecia|salia|en vez de|en lugar de)\b")


def field_named(text: str) -> str | None:
    folded = " " + " ".join(intents.words(text)) + " "
    for field, names in FIELD_WORDS.items():
        if any(f" {n} " in folded for n in names):
            return field
    return None


# --- the describe step: what a message says of the case ---------------------------------

#: "te mando captura", "ahorita te la paso": a screenshot promised.
_PROMISES_SCREENSHOT = re.compile(
    r"\b(?:te|les|se) (?:la |lo )?(?:mando|envio|paso|mandare|enviare)(?: (?:la|una|el|un))? (?:captura|foto|screenshot|imagen|pantallazo)"
    r"|\b(?:ahorita|ahora|luego|al rato|orita) (?:te |les )?(?:la|lo) (?:mando|envio|paso)\b"
    r"|\b(?:espera|dejame|deja) (?:tomo|saco|le tomo|le saco) (?:la |una )?(?:captura|foto)"
)


def promises_screenshot(text: str) -> bool:
    return bool(_PROMISES_SCREENSHOT.search(" ".join(intents.words(text))))


#: Words that ask for help and say nothing of the case.
_PLEAS = frozenset({"ayuda", "ayudame", "ayudenme", "auxilio", "porfa", "por", "favor", "plis", "pls", "please",
                    "help", "urge", "urgente", "ya", "rapido", "necesito", "ocupo", "me", "la", "una"})


def only_pleas(text: str) -> bool:
    """ "ayuda", "porfa": a plea, not what went wrong."""
    return all(w in _PLEAS for w in intents.words(text))


#: "¿cómo que texto?", "¿a qué te refieres?": the question asked was not understood.
_CLARIFY = re.compile(r"^(?:y |pero )?(?:como que|a que te refieres|que es eso|que texto|cual texto|cual mensaje"
                      r"|que mensaje|como cual|que dato|cual dato|que quieres decir|no entiendo)\b")


def asks_what_is_meant(text: str) -> bool:
    words = intents.words(text)
    return len(words) <= 6 and bool(_CLARIFY.search(" ".join(words)))


def wrong_values_typed(text: str) -> list[str]:
    """ "puse 12345678901": the NSS and CURP values told as typed into the application that are
    not valid (the wrong ones); empty when the message tells of no typing."""
    if not TYPED.search(" ".join(intents.words(text))):
        return []
    return ([v for v in entities.find_nss_candidates(text) if entities.nss_problem(v)]
            + [v.upper() for v in entities.find_curp_candidates(text) if entities.curp_problem(v)])


#: Words that give the right value ("… y era 12345678903", "el correcto es …").
_RIGHT_CUE = re.compile(r"\b(?:es|era|son|correct[oa]|buen[oa]|debe ser|deberia ser|tenia que ser|va)\b")


def only_typed_values(reason: str, text: str) -> bool:
    """ "puse 12345678911" in a report of a mistake: what went into the application (for the
    detail), not the student's data, even when it is a valid number; the right one comes with
    "es", "era", "el correcto…"."""
    folded = " ".join(intents.words(text))
    return (reason == "datos_erroneos" and bool(TYPED.search(folded)) and not _RIGHT_CUE.search(folded)
            and bool(entities.find_nss_candidates(text) or entities.find_curp_candidates(text)))


def tells_wrong_and_right(text: str) -> bool:
    """ "puse Jose y es José Luis": what was typed and what it should have been."""
    folded = " ".join(intents.words(text))
    typed = TYPED.search(folded)
    return bool(typed) and bool(_RIGHT_CUE.search(folded, typed.end()))


def typed_description(text: str) -> str:
    """The message for the detail: the wrong values as typed, the valid ones (the student's data,
    in the ticket's own fields) replaced by their names."""
    out = " ".join(text.split())
    for v in entities.find_nss_candidates(out):
        if entities.nss_problem(v) is None:
            out = out.replace(v, "[NSS]")
    for v in entities.find_curp_candidates(out):
        if entities.curp_problem(v) is None:
            out = re.sub(re.escape(v), "[CURP]", out, flags=re.IGNORECASE)
    return out


#: The name given after "es" / "sería" / ":" in a correction ("…, es Luis Ángel Soto Muñoz").
_NAME_AFTER = re.compile(r"(?:\bes|\bseria|\bsería|\bqueda|:)\s+([^\d,;:]+?)\s*[.!]*$", re.IGNORECASE)


#: "… con acento", "… así, porfa": words after the name that are not part of it.
_AFTER_NAME = re.compile(r"\s+(?:con (?:acento|acentos|tilde|tildes|la ñ|ñ|h)(?: en \S+)?|asi|porfa|por favor|gracias"
                         r"|completo|bien)\s*$", re.IGNORECASE)


def name_after(text: str) -> str | None:
    """ "mi nombre lleva acento, es Luis Ángel Soto Muñoz" → the name after "es", if it is one
    ("es José Luis Pérez Gámez con acento": without "con acento")."""
    said = _NAME_AFTER.search(text)
    if not said:
        return None
    name = said.group(1)
    while _AFTER_NAME.search(name):
        name = _AFTER_NAME.sub("", name)
    return name if entities.looks_like_name(name) else None
