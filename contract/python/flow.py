"""Drives one case through the whole return workflow with a client generated from the
OpenAPI document by openapi-python-client: every request and answer model comes from the
document, none is written here.

Usage: RETOUR_BASE_URL=http://127.0.0.1:8080 PYTHONPATH=contract/build/python python flow.py

Fails (exit 1) on the first answer that is not the one expected, and on any answer the
generated models do not parse completely: the generated code falls back to the raw JSON
where a part of an answer does not fit the document, and keeps undeclared fields aside,
so every answer is also checked by `parsed_completely`.
"""

from __future__ import annotations

import datetime
import enum
import io
import os
import random
import re
import sys
import uuid
from http import HTTPStatus
from typing import Any, TypeVar

import attrs

from retour_client import AuthenticatedClient, Client
from retour_client.types import File
from retour_client.api.auth import get_me, login
from retour_client.api.cases import (
    add_disbursement,
    add_monitoring_visit,
    create_case,
    get_case,
    get_document_content,
    list_documents,
    list_case_events,
    patch_case,
    record_consent,
    transition_case,
    upload_document,
)
from retour_client.api.institutions import list_institutions
from retour_client.models import (
    ApprovedAmountInput,
    AssistanceComponent,
    CaseEventList,
    CaseFieldsInput,
    CaseResponse,
    CaseStatus,
    ClosureOutcome,
    ConsentInput,
    ConsentPurpose,
    ConsentResponse,
    DepartureAirport,
    Disbursement,
    DisbursementInput,
    DocumentCategory,
    DocumentList,
    DocumentResponse,
    DocumentUpload,
    EligibilityInput,
    Escort,
    InstitutionKind,
    InstitutionList,
    ItineraryInput,
    LoginRequest,
    Me,
    MedicalInput,
    MonitoringVisit,
    MonitoringVisitInput,
    NewCaseInput,
    PayoutInput,
    PersonInput,
    Problem,
    Programme,
    Relationship,
    RequestedAssistanceInput,
    ResidenceStatus,
    Sex,
    TokenResponse,
    TransitionAnswerInfo,
    TransitionAnswerInfoAction,
    TransitionApprove,
    TransitionApproveAction,
    TransitionBookTravel,
    TransitionBookTravelAction,
    TransitionClose,
    TransitionCloseAction,
    TransitionConfirmDeparture,
    TransitionConfirmDepartureAction,
    TransitionRequestInfo,
    TransitionRequestInfoAction,
    TransitionStartReintegration,
    TransitionStartReintegrationAction,
    TransitionStartReview,
    TransitionStartReviewAction,
    TransitionSubmit,
    TransitionSubmitAction,
    VoluntarinessInput,
    Vulnerability,
)
from retour_client.types import Response, Unset

BASE_URL = os.environ.get("RETOUR_BASE_URL") or sys.exit("RETOUR_BASE_URL is not set")
PASSWORD = os.environ.get("RETOUR_DEMO_PASSWORD", "retour-demo")

T = TypeVar("T")


class Failed(Exception):
    pass


def check(what: str, condition: bool, detail: object = None) -> None:
    if not condition:
        raise Failed(f"{what}: {detail!r}")


# Python types of parsed values, by the names the generated annotations use for them.
LEAF_TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool, "Any": object}


def parsed_completely(value: object, where: str = "answer", annotation: str = "") -> None:
    """Fails where the generated models did not parse an answer completely: a field the
    document does not declare (kept in `additional_properties`), or a value that fits none
    of the declared types (kept as the raw JSON: a dict, or a string where an enum, date,
    date-time or UUID was declared)."""
    if isinstance(value, (Unset, type(None), enum.Enum, datetime.date, uuid.UUID)):
        return
    if attrs.has(type(value)):
        extra = getattr(value, "additional_properties", {})
        check(f"{where}: fields the document does not declare", not extra, sorted(extra))
        for field in attrs.fields(type(value)):
            if field.name != "additional_properties":
                parsed_completely(getattr(value, field.name), f"{where}.{field.name}", str(field.type))
        return
    if isinstance(value, list):
        inner = re.search(r"list\[(.*)\]", annotation)
        for i, item in enumerate(value):
            parsed_completely(item, f"{where}[{i}]", inner.group(1) if inner else "")
        return
    declared = set(re.findall(r"\w+", annotation))
    if isinstance(value, dict):
        check(f"{where}: an object that fits none of {annotation}", bool(declared & {"dict", "Any"}), value)
        return
    fits = any(isinstance(value, LEAF_TYPES[name]) for name in declared & LEAF_TYPES.keys())
    check(f"{where}: {value!r} fits none of {annotation}", fits)


def expect(what: str, status: HTTPStatus, answer: Response[Any], model: type[T]) -> T:
    """The parsed body of an answer that must have `status` and be a `model`."""
    if answer.status_code != status or not isinstance(answer.parsed, model):
        raise Failed(f"{what}: expected {status.value}, got {answer.status_code.value}: {answer.content!r}")
    parsed_completely(answer.parsed, what)
    print(f"ok  {status.value} {what}")
    return answer.parsed


def header(what: str, answer: Response[Any], name: str) -> str:
    value = answer.headers.get(name)
    check(f"{what}: a {name} header", value is not None)
    return str(value)


class Versioned:
    """A case answer and its ETag, which must be the case's version."""

    def __init__(self, what: str, status: HTTPStatus, answer: Response[Any]) -> None:
        self.body = expect(what, status, answer, CaseResponse)
        self.etag = header(what, answer, "ETag")
        check(f"{what}: ETag is the version", self.etag == f'"{self.body.version}"', self.etag)

    @property
    def id(self) -> uuid.UUID:
        return self.body.id


def sign_in(email: str) -> AuthenticatedClient:
    anonymous = Client(base_url=BASE_URL, raise_on_unexpected_status=True)
    answer = login.sync_detailed(client=anonymous, body=LoginRequest(email=email, password=PASSWORD))
    tokens = expect(f"sign in as {email}", HTTPStatus.OK, answer, TokenResponse)
    client = AuthenticatedClient(base_url=BASE_URL, token=tokens.access_token, raise_on_unexpected_status=True)
    me = expect(f"{email}: /v1/me", HTTPStatus.OK, get_me.sync_detailed(client=client), Me)
    check(f"{email}: /v1/me", me.email == email, me.email)
    return client


# The actions taken, in order: the case's history must list them.
taken = ["open"]


def transition(who: AuthenticatedClient, current: Versioned, body: Any, status: CaseStatus) -> Versioned:
    answer = transition_case.sync_detailed(current.id, client=who, body=body, if_match=current.etag)
    after = Versioned(f"{body.action.value} → {status.value}", HTTPStatus.OK, answer)
    check(f"{body.action.value}: status", after.body.status == status, after.body.status)
    taken.append(body.action.value)
    return after


# What the household asks for and SEM approves, in rappen.
ASSISTANCE = {
    AssistanceComponent.STARTUP_CASH: 150_000,
    AssistanceComponent.TRAVEL_MONEY: 20_000,
    AssistanceComponent.REINTEGRATION_PROJECT: 300_000,
}


def read(who: AuthenticatedClient, case_id: uuid.UUID, what: str) -> Versioned:
    return Versioned(what, HTTPStatus.OK, get_case.sync_detailed(case_id, client=who))


def person(relationship: Relationship, given_names: str, born: datetime.date, sex: Sex, **more: Any) -> PersonInput:
    """A member of the Hassan household, from Iraq."""
    return PersonInput(
        relationship=relationship,
        surname="Hassan",
        given_names=given_names,
        date_of_birth=born,
        sex=sex,
        nationality="IQ",
        **more,
    )


def main() -> None:
    counsellor = sign_in("counsellor.be@demo.test")
    sem = sign_in("sem@demo.test")
    repat = sign_in("swissrepat@demo.test")
    iom = sign_in("iom@demo.test")
    mission = sign_in("mission.iq@demo.test")
    today = datetime.date.today()
    now = datetime.datetime.now(datetime.timezone.utc)

    # Opening: the counselling service, with what submitting needs.
    new_case = NewCaseInput(
        programme=Programme.CANTONAL,
        destination_country="IQ",
        planned_departure_date=today + datetime.timedelta(days=30),
        persons=[
            person(
                Relationship.PRINCIPAL,
                "Karim",
                datetime.date(1988, 4, 12),
                Sex.MALE,
                zemis_number=str(random.randint(10_000_000, 99_999_999)),
                n_number="N 123 456",
                residence_status=ResidenceStatus.N,
                entry_date=datetime.date(2024, 2, 1),
                travelling=True,
            ),
            person(Relationship.CHILD, "Lina", datetime.date(2015, 6, 1), Sex.FEMALE),
        ],
        vulnerabilities=[Vulnerability.MEDICAL],
        medical=MedicalInput(summary="Diabetes type 1", fit_to_travel=True, escort=Escort.NONE),
        eligibility=EligibilityInput(
            criminal_offences=False, abuse=False, sufficient_assets=False, prior_assistance=False
        ),
        voluntariness_declaration=VoluntarinessInput(signed_on=today),
        requested_assistance=[
            RequestedAssistanceInput(component=component, amount_rappen=amount)
            for component, amount in ASSISTANCE.items()
        ],
    )
    opened = create_case.sync_detailed(client=counsellor, body=new_case)
    current = Versioned("open a case", HTTPStatus.CREATED, opened)
    case_id = current.id
    check("open: Location", header("open", opened, "Location") == f"/v1/cases/{case_id}")
    check("open: status", current.body.status == CaseStatus.COUNSELLING, current.body.status)
    current = read(counsellor, case_id, "read the case")

    # The signed request, which submitting needs: a multipart upload.
    signed = b"%PDF-1.4\n% signed request for return assistance\n%%EOF\n"
    upload = DocumentUpload(
        category=DocumentCategory.RETURN_REQUEST,
        file=File(payload=io.BytesIO(signed), file_name="antrag.pdf", mime_type="application/pdf"),
    )
    uploaded = expect(
        "upload the signed request",
        HTTPStatus.CREATED,
        upload_document.sync_detailed(case_id, client=counsellor, body=upload),
        DocumentResponse,
    )
    check("upload: judged a PDF", uploaded.media_type == "application/pdf", uploaded.media_type)

    # The family's consent to hand their data to IOM's mission, on a signed form: the
    # reintegration needs it of every travelling adult.
    form = DocumentUpload(
        category=DocumentCategory.CONSENT_FORM,
        file=File(
            payload=io.BytesIO(b"%PDF-1.4\n% signed consent form\n%%EOF\n"),
            file_name="einwilligung.pdf",
            mime_type="application/pdf",
        ),
    )
    consent_form = expect(
        "upload the signed consent form",
        HTTPStatus.CREATED,
        upload_document.sync_detailed(case_id, client=counsellor, body=form),
        DocumentResponse,
    )
    for member in current.body.persons:
        consent = expect(
            "record a consent",
            HTTPStatus.CREATED,
            record_consent.sync_detailed(
                case_id,
                client=counsellor,
                body=ConsentInput(
                    person_id=member.id,
                    purpose=ConsentPurpose.TRANSFER_TO_MISSION,
                    sheet_version="2026-03",
                    sheet_language="de",
                    given_on=today,
                    document_id=consent_form.id,
                ),
            ),
            ConsentResponse,
        )
        check("consent: standing", consent.withdrawn_on is None, consent.withdrawn_on)
    documents = expect(
        "list the documents",
        HTTPStatus.OK,
        list_documents.sync_detailed(case_id, client=counsellor),
        DocumentList,
    )
    check("list: the upload", any(d.id == uploaded.id for d in documents.items), documents)
    content = get_document_content.sync_detailed(
        case_id, uploaded.id, client=counsellor
    )
    check("download: 200", content.status_code == HTTPStatus.OK, content.status_code)
    check("download: the same bytes", content.content == signed, len(content.content))
    print("ok  200 download the signed request")

    current = transition(counsellor, current, TransitionSubmit(action=TransitionSubmitAction.SUBMIT), CaseStatus.SUBMITTED)
    current = transition(
        sem, current, TransitionStartReview(action=TransitionStartReviewAction.START_REVIEW), CaseStatus.UNDER_REVIEW
    )

    # A stale ETag is refused with a problem document, and changes nothing.
    stale = transition_case.sync_detailed(
        case_id,
        client=sem,
        body=TransitionStartReview(action=TransitionStartReviewAction.START_REVIEW),
        if_match=f'"{current.body.version - 1}"',
    )
    problem = expect("a stale If-Match is refused", HTTPStatus.PRECONDITION_FAILED, stale, Problem)
    check("stale: code", problem.code == "stale_version", problem.code)

    # SEM's information loop: the question, the counselling service's edit and answer.
    question = "Please confirm the child's date of birth."
    current = transition(
        sem,
        current,
        TransitionRequestInfo(action=TransitionRequestInfoAction.REQUEST_INFO, question=question),
        CaseStatus.INFO_REQUESTED,
    )
    edit = CaseFieldsInput(vulnerabilities=[Vulnerability.MEDICAL, Vulnerability.SINGLE_PARENT])
    patched = patch_case.sync_detailed(case_id, client=counsellor, body=edit, if_match=current.etag)
    current = Versioned("patch the case while SEM waits", HTTPStatus.OK, patched)
    check(
        "patch: vulnerabilities",
        current.body.vulnerabilities == [Vulnerability.MEDICAL, Vulnerability.SINGLE_PARENT],
        current.body.vulnerabilities,
    )
    answer = "Confirmed: 2015-06-01."
    current = transition(
        counsellor,
        current,
        TransitionAnswerInfo(action=TransitionAnswerInfoAction.ANSWER_INFO, answer=answer),
        CaseStatus.UNDER_REVIEW,
    )
    questions = current.body.review_questions
    check("answer recorded", isinstance(questions, list) and questions[0].answer == answer, questions)

    # SEM's decision.
    current = transition(
        sem,
        current,
        TransitionApprove(
            action=TransitionApproveAction.APPROVE,
            reasons="Eligible; family returns together.",
            override_justification=None,
            approved_assistance=[
                ApprovedAmountInput(component=component, amount_rappen=amount)
                for component, amount in ASSISTANCE.items()
            ],
        ),
        CaseStatus.APPROVED,
    )

    # swissREPAT books the travel and confirms the departure.
    current = transition(
        repat,
        current,
        TransitionBookTravel(
            action=TransitionBookTravelAction.BOOK_TRAVEL,
            itinerary=ItineraryInput(
                departure_airport=DepartureAirport.ZRH,
                departure_at=now + datetime.timedelta(days=14),
                flights=["TK1912", "TK 294"],
                destination_airport="EBL",
                escort=Escort.NONE,
                sim=False,
            ),
        ),
        CaseStatus.TRAVEL_BOOKED,
    )
    current = transition(
        repat,
        current,
        TransitionConfirmDeparture(
            action=TransitionConfirmDepartureAction.CONFIRM_DEPARTURE,
            departed_at=now - datetime.timedelta(minutes=10),
            payout=PayoutInput(
                startup_cash_rappen=150_000, travel_money_rappen=20_000, receipt_reference="ZRH-2026-1234"
            ),
        ),
        CaseStatus.DEPARTED,
    )

    # Reintegration: IOM Bern assigns IOM Iraq, which records a disbursement and a visit.
    missions = expect(
        "list the IOM missions",
        HTTPStatus.OK,
        list_institutions.sync_detailed(client=iom, kind=InstitutionKind.IOM_MISSION),
        InstitutionList,
    )
    iraq = next((i for i in missions.items if i.name == "IOM Iraq"), None)
    check("IOM Iraq is a mission", iraq is not None, [i.name for i in missions.items])
    assert iraq is not None
    current = read(iom, case_id, "IOM Bern reads the case")
    current = transition(
        iom,
        current,
        TransitionStartReintegration(action=TransitionStartReintegrationAction.START_REINTEGRATION, mission_id=iraq.id),
        CaseStatus.REINTEGRATION,
    )
    reintegration = current.body.reintegration
    check("mission", not isinstance(reintegration, (Unset, type(None))) and reintegration.mission_name == "IOM Iraq")

    paid = add_disbursement.sync_detailed(
        case_id,
        client=mission,
        body=DisbursementInput(amount_rappen=120_000, purpose="Sewing machine and fabric", paid_on=today),
    )
    disbursement = expect("record a disbursement", HTTPStatus.CREATED, paid, Disbursement)
    check("disbursement", disbursement.amount_rappen == 120_000, disbursement.amount_rappen)
    check("disbursement: Location", header("disbursement", paid, "Location") == f"/v1/cases/{case_id}")
    visited = add_monitoring_visit.sync_detailed(
        case_id,
        client=mission,
        body=MonitoringVisitInput(due_on=today, done_on=today, outcome="The shop is open.", sustainability_score=0.75),
    )
    visit = expect("record a monitoring visit", HTTPStatus.CREATED, visited, MonitoringVisit)
    check("visit", visit.sustainability_score == 0.75, visit.sustainability_score)
    check("visit: Location", header("visit", visited, "Location") == f"/v1/cases/{case_id}")
    seen = read(mission, case_id, "the mission reads the case").body.reintegration
    check("disbursed", not isinstance(seen, (Unset, type(None))) and seen.disbursed_rappen == 120_000)

    # IOM Bern closes the case (the records changed its version: read it first); part of the
    # project is not disbursed, so the closure says why.
    current = read(iom, case_id, "IOM Bern reads the case again")
    current = transition(
        iom,
        current,
        TransitionClose(
            action=TransitionCloseAction.CLOSE,
            outcome=ClosureOutcome.COMPLETED,
            comment="The shop runs; the rest of the project is not needed.",
        ),
        CaseStatus.CLOSED,
    )
    check("no action left", current.body.allowed_actions == [], current.body.allowed_actions)

    history = expect(
        "the case's history",
        HTTPStatus.OK,
        list_case_events.sync_detailed(case_id, client=counsellor),
        CaseEventList,
    )
    steps = [event.action for event in history.items]
    check("history", steps == taken, {"history": steps, "taken": taken})
    print(f"Python client: case {current.body.reference} driven from opening to closing")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # every failure, the generated client's included, fails the run
        print(f"FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
