"""The public one-question satisfaction page (S25): GET shows it in the customer's language,
POST records 1-5 plus a comment. No sign-in: the unguessable token is the key."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from caredesk.conversations.csat import MAX_COMMENT_CHARS, csat_question, do_answer_csat
from caredesk.httpkit.deps import db, whole_number
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import CaredeskError, NotFound
from caredesk.kit.runtime import Runtime
from caredesk.web.contact_i18n import choose_language
from caredesk.web.render import page

router = APIRouter(tags=["csat"])


def _not_found(request: Request) -> HTMLResponse:
    """Without a survey there is no customer language: ``?lang=``, else the browser's."""
    lang = choose_language(
        request.query_params.get("lang"), request.headers.get("accept-language"), "en"
    )
    return page(request, "csat_missing.html", {}, status_code=404, lang=lang)


@router.get("/csat/{token}", response_class=HTMLResponse)
def show_survey(token: str, request: Request, session: Session = Depends(db)) -> Response:
    try:
        q = csat_question(session, token)
    except NotFound:
        return _not_found(request)
    return page(request, "csat.html", {"q": q, "error": None, "score": None, "comment": ""})


@router.post("/csat/{token}", response_class=HTMLResponse)
def answer_survey(
    token: str,
    request: Request,
    score: str = Form(""),
    comment: str = Form("", max_length=4000),
) -> Response:
    rt: Runtime = request.app.state.runtime
    value = whole_number(score, max_digits=3)
    value = -1 if value is None else value
    try:
        with unit_of_work(rt.sessions) as session:
            do_answer_csat(session, rt.clock, token, value, comment)
    except NotFound:
        return _not_found(request)
    except CaredeskError as exc:
        with rt.sessions() as session:
            q = csat_question(session, token)
            if q.answered:
                return RedirectResponse(f"/csat/{token}", status_code=303)
            # The customer reads the problem in their own language, not the service's English.
            if not 1 <= value <= 5:
                error = q.text.pick_score
            elif len(comment.strip()) > MAX_COMMENT_CHARS:
                error = q.text.too_long
            else:
                error = q.text.expired
            ctx = {"q": q, "error": error, "score": value, "comment": comment}
            return page(request, "csat.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"/csat/{token}", status_code=303)
