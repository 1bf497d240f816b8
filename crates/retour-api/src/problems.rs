//! The catalogue of problem types: every `code` a problem document of this API can carry, with
//! its status, what it means and what the client can do. A problem's `type` is the address of
//! its entry, `/problems/{code}`, which the API serves, so every type URI resolves.

use axum::Json;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use retour_domain::string_enum;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;

pub(crate) fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list))
        .routes(utoipa_axum::routes!(show))
}

string_enum! {
    /// The stable machine-readable code of a problem document (`code`). Clients branch on it;
    /// `GET /problems/{code}` says what each one means.
    pub enum ProblemCode {
        MalformedRequest = "malformed_request",
        ValidationFailed = "validation_failed",
        Unauthorized = "unauthorized",
        InvalidCredentials = "invalid_credentials",
        InvalidToken = "invalid_token",
        MfaRequired = "mfa_required",
        MfaTokenInvalid = "mfa_token_invalid",
        MfaCodeInvalid = "mfa_code_invalid",
        MfaAlreadyEnrolled = "mfa_already_enrolled",
        MfaEnrolmentNotStarted = "mfa_enrolment_not_started",
        MfaNotEnrolled = "mfa_not_enrolled",
        SeparationOfDuties = "separation_of_duties",
        InstitutionHasAdministrator = "institution_has_administrator",
        NotPending = "not_pending",
        BreakGlassNotNeeded = "break_glass_not_needed",
        AlreadyReviewed = "already_reviewed",
        ConsentStanding = "consent_standing",
        ConsentWithdrawn = "consent_withdrawn",
        LegalHoldInForce = "legal_hold_in_force",
        NoLegalHold = "no_legal_hold",
        InsufficientScope = "insufficient_scope",
        Forbidden = "forbidden",
        ForbiddenAction = "forbidden_action",
        NotAssigned = "not_assigned",
        SamePerson = "same_person",
        DimensionNotAllowed = "dimension_not_allowed",
        ReportNotAllowed = "report_not_allowed",
        NotFound = "not_found",
        MethodNotAllowed = "method_not_allowed",
        NotAcceptable = "not_acceptable",
        Conflict = "conflict",
        DuplicateCase = "duplicate_case",
        CaseNotEditable = "case_not_editable",
        CaseNotInCounselling = "case_not_in_counselling",
        CaseNotInReintegration = "case_not_in_reintegration",
        InvalidTransition = "invalid_transition",
        PrincipalRequired = "principal_required",
        AlreadyAnswered = "already_answered",
        ReclaimNotOpen = "reclaim_not_open",
        ReclaimNotPossible = "reclaim_not_possible",
        SecondPersonRequired = "second_person_required",
        ProposalPending = "proposal_pending",
        ProposalNotOpen = "proposal_not_open",
        ProposalStale = "proposal_stale",
        TransferPending = "transfer_pending",
        CaseNotAssignable = "case_not_assignable",
        NoPendingTransfer = "no_pending_transfer",
        TransferNotPossible = "transfer_not_possible",
        VisitAlreadyDone = "visit_already_done",
        DeadlineNotExtendable = "deadline_not_extendable",
        DocumentNotFileable = "document_not_fileable",
        DocumentNotCurrent = "document_not_current",
        DocumentDeleted = "document_deleted",
        DocumentTooLarge = "document_too_large",
        DocumentTypeNotAccepted = "document_type_not_accepted",
        DocumentIntegrity = "document_integrity",
        EmailTaken = "email_taken",
        NameTaken = "name_taken",
        StaleVersion = "stale_version",
        PayloadTooLarge = "payload_too_large",
        UnsupportedMediaType = "unsupported_media_type",
        IdempotencyKeyReused = "idempotency_key_reused",
        PreconditionRequired = "precondition_required",
        TooManyRequests = "too_many_requests",
        InternalError = "internal_error",
        ServiceUnavailable = "service_unavailable",
        RequestTimeout = "request_timeout",
        HttpError = "http_error",
    }
}

impl ProblemCode {
    /// The status a problem with this code is answered with; `None` for `http_error`, which
    /// stands for any other status the HTTP stack answers.
    pub fn status(self) -> Option<StatusCode> {
        use ProblemCode::*;
        Some(match self {
            MalformedRequest => StatusCode::BAD_REQUEST,
            ValidationFailed | IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Unauthorized | InvalidCredentials | InvalidToken | MfaRequired | MfaTokenInvalid
            | MfaCodeInvalid => StatusCode::UNAUTHORIZED,
            InsufficientScope | SeparationOfDuties | Forbidden | ForbiddenAction | NotAssigned
            | SamePerson | DimensionNotAllowed | ReportNotAllowed => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Conflict
            | DuplicateCase
            | CaseNotEditable
            | CaseNotInCounselling
            | CaseNotInReintegration
            | InvalidTransition
            | PrincipalRequired
            | AlreadyAnswered
            | ReclaimNotOpen
            | ReclaimNotPossible
            | SecondPersonRequired
            | ProposalPending
            | ProposalNotOpen
            | ProposalStale
            | TransferPending
            | CaseNotAssignable
            | NoPendingTransfer
            | TransferNotPossible
            | VisitAlreadyDone
            | DeadlineNotExtendable
            | DocumentNotFileable
            | DocumentNotCurrent
            | EmailTaken
            | NameTaken
            | MfaAlreadyEnrolled
            | MfaEnrolmentNotStarted
            | MfaNotEnrolled
            | InstitutionHasAdministrator
            | NotPending
            | BreakGlassNotNeeded
            | AlreadyReviewed
            | ConsentStanding
            | ConsentWithdrawn
            | LegalHoldInForce
            | NoLegalHold => StatusCode::CONFLICT,
            StaleVersion => StatusCode::PRECONDITION_FAILED,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            DocumentDeleted => StatusCode::GONE,
            DocumentTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            DocumentTypeNotAccepted => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            InternalError | DocumentIntegrity => StatusCode::INTERNAL_SERVER_ERROR,
            ServiceUnavailable | RequestTimeout => StatusCode::SERVICE_UNAVAILABLE,
            HttpError => return None,
        })
    }

    /// What the problem means and what the client can do about it.
    pub fn description(self) -> &'static str {
        use ProblemCode::*;
        match self {
            MalformedRequest => {
                "The request could not be read: the body is not JSON, or a path or header value \
                 does not parse. Fix the request; sending it again unchanged fails again."
            }
            ValidationFailed => {
                "One or more fields are invalid. `errors` lists each one with the path of the \
                 field (`persons[1].zemis_number`), a code (`required`, `too_long`, \
                 `invalid_value`, `unknown_field`, ...) and a message naming the field."
            }
            Unauthorized => {
                "No bearer token was sent. Sign in (`POST /v1/auth/login`, or the \
                 client-credentials grant at `POST /v1/auth/token`) and send the access token."
            }
            InvalidCredentials => {
                "The sign-in was refused: the email or the password is wrong, or the account is \
                 locked or disabled. The answer is the same in every case, so that none can be \
                 told apart."
            }
            MfaRequired => {
                "The password was right and the account needs a second factor. The problem \
                 carries `mfa_token` (valid for five minutes); send it with a code of the \
                 authenticator (or a recovery code) to `POST /v1/auth/login/mfa`. With \
                 `mfa_enrolment_required: true` the user has no authenticator yet and their \
                 institution requires one: `POST /v1/auth/login/mfa/totp` with the token \
                 enrols one, and its first code completes the sign-in."
            }
            MfaTokenInvalid => {
                "The sign-in's second step is unknown, expired (after five minutes), already \
                 used, or given up after five wrong codes. Sign in again with the password."
            }
            MfaCodeInvalid => {
                "The code is wrong, was used before (each code is accepted once), or the \
                 recovery code is unknown or used. Each wrong code counts towards the \
                 account's lockout; wait for the authenticator's next code and try again."
            }
            MfaAlreadyEnrolled => {
                "The user already has a confirmed authenticator. To replace it, an \
                 administrator resets it (`DELETE /v1/users/{id}/mfa`, confirmed by a second \
                 administrator)."
            }
            MfaEnrolmentNotStarted => {
                "There is no authenticator waiting for its first code: start the enrolment \
                 (`POST /v1/me/mfa/totp`, or `POST /v1/auth/login/mfa/totp` while signing in) \
                 first."
            }
            MfaNotEnrolled => "The user has no second factor to reset.",
            SeparationOfDuties => {
                "Administrators do not grant themselves access to cases or the access log: the \
                 operator's administrators manage institutions and appoint each institution's \
                 first administrator; an institution's administrator manages its own users and \
                 service accounts. Ask the institution's administrator."
            }
            InstitutionHasAdministrator => {
                "The institution has an administrator already; further ones are appointed by \
                 that administrator (and approved by a second one)."
            }
            NotPending => {
                "The account (or the request) waits for no approval: it was approved or \
                 changed meanwhile. Fetch it again."
            }
            BreakGlassNotNeeded => {
                "The case is within your scope already: read it as usual, without break-glass."
            }
            AlreadyReviewed => "This use of break-glass was reviewed already.",
            ConsentStanding => {
                "The person's consent to this purpose stands already; withdraw it before a new \
                 one is recorded."
            }
            ConsentWithdrawn => "The consent was withdrawn already; a withdrawal is recorded once.",
            LegalHoldInForce => {
                "A legal hold is in force on the case already; lift it before setting another."
            }
            NoLegalHold => "No legal hold is in force on the case: there is nothing to lift.",
            InvalidToken => {
                "The bearer token was refused: expired, signed out, of a closed session or not \
                 issued here. Refresh it or sign in again."
            }
            InsufficientScope => {
                "The service account's token lacks the scope this operation needs; the \
                 `WWW-Authenticate` header names it. An administrator can grant it."
            }
            Forbidden => {
                "The caller's institution and role do not allow this operation on this \
                 resource. Repeating it does not help; the access log records the refusal."
            }
            ForbiddenAction => {
                "The caller's role may not take this workflow action on the case; \
                 `allowed_actions` on the case lists the ones it may take."
            }
            NotAssigned => {
                "SEM's decisions on a case (asking for information, approving, rejecting, \
                 cancelling) are taken by the SEM officer it is assigned to for review. \
                 `reviewer_id` on the case names that officer; a SEM officer can reassign it \
                 (`POST /v1/cases/{id}/assignment`)."
            }
            SamePerson => {
                "The officer who proposed a four-eyes change cannot confirm or send it back: a \
                 second SEM officer does."
            }
            DimensionNotAllowed => {
                "A statistics dimension or filter was asked for that derives from case data the \
                 caller's access does not include; `detail` names it."
            }
            ReportNotAllowed => {
                "A statistics report was asked for that derives from case data the caller's \
                 access does not include."
            }
            NotFound => {
                "The resource does not exist, or the caller may not know that it exists \
                 (cases outside the caller's scope answer the same)."
            }
            MethodNotAllowed => {
                "The resource does not support this method; `Allow` lists those it does."
            }
            NotAcceptable => {
                "The `Accept` header allows no media type this resource answers with \
                 (`application/json`, and `text/csv` for exports)."
            }
            Conflict => {
                "The request conflicts with data already stored. Fetch the resource again and \
                 check it before retrying."
            }
            DuplicateCase => {
                "A case for a person with this ZEMIS number is already open; `detail` names its \
                 reference when the caller may see it."
            }
            CaseNotEditable => {
                "The case's status no longer allows this change (for example after the \
                 application was submitted)."
            }
            CaseNotInCounselling => "The change is only possible while the case is in counselling.",
            CaseNotInReintegration => {
                "Reintegration records (disbursements, monitoring visits) are kept only while the \
                 case is in reintegration."
            }
            InvalidTransition => {
                "The workflow action is not possible from the case's current status, or its \
                 conditions are not met; `detail` says which."
            }
            PrincipalRequired => {
                "A household keeps exactly one principal applicant; this change would remove it."
            }
            AlreadyAnswered => {
                "The information request was already answered; answers are not edited."
            }
            ReclaimNotOpen => "The reclaim is settled or waived and no longer changes.",
            ReclaimNotPossible => {
                "Nothing can be reclaimed on this case: no assistance was paid out, or the case \
                 is not in a status that allows it."
            }
            SecondPersonRequired => {
                "This change needs a second SEM officer (an approval above the entitlement, \
                 waiving a reclaim, cancelling a case whose travel is booked): propose it at \
                 `POST /v1/cases/{id}/proposals`; another officer confirms it."
            }
            ProposalPending => {
                "The case already has an open four-eyes proposal; it is confirmed or sent back \
                 before another is made."
            }
            ProposalNotOpen => {
                "The proposal was already confirmed, sent back or overtaken by another change \
                 of the case."
            }
            ProposalStale => {
                "The case changed since the proposal was made and it no longer applies as \
                 proposed; `detail` says why. Send it back and propose again."
            }
            TransferPending => {
                "The counselling service proposed to hand the case to another service; it \
                 changes nothing on the case until that service accepts or declines."
            }
            CaseNotAssignable => {
                "The case is not reassigned in its status: a counsellor until the case ends, a \
                 SEM reviewer from the review until travel is booked."
            }
            NoPendingTransfer => "The case has no transfer waiting for an answer.",
            TransferNotPossible => {
                "A case moves to another counselling service only before its travel is booked \
                 and while it has not ended."
            }
            VisitAlreadyDone => {
                "The monitoring visit was recorded as done already; a visit done is not changed. \
                 Record another visit for a later finding."
            }
            DeadlineNotExtendable => {
                "This deadline cannot be extended: it is closed, or of a kind that follows a date \
                 set by someone else (only `travel` and `information_answer` deadlines are \
                 extended), or the case is in a status without such a deadline."
            }
            EmailTaken => "Another account already uses this email address.",
            NameTaken => "Another institution or service account already has this name.",
            StaleVersion => {
                "The resource changed since the `ETag` sent in `If-Match` was read. Fetch it \
                 again, reapply the change and retry."
            }
            PayloadTooLarge => "The request body is larger than the limit `detail` states.",
            UnsupportedMediaType => {
                "The body's `Content-Type` is not one this operation reads (`application/json`, \
                 or `application/merge-patch+json` for PATCH)."
            }
            IdempotencyKeyReused => {
                "The `Idempotency-Key` was already used for a different request body; use a new \
                 key for a new request."
            }
            PreconditionRequired => {
                "This change needs an `If-Match` header carrying the resource's `ETag` (quoted, \
                 as the `ETag` header gives it)."
            }
            TooManyRequests => {
                "Too many requests from this address; `Retry-After` says after how many seconds \
                 to retry."
            }
            DocumentNotFileable => {
                "Documents of this category are not filed (uploaded, replaced or deleted) in the \
                 case's present status; `GET /problems` and the README's document table say who \
                 files which category when."
            }
            DocumentNotCurrent => {
                "Only the current version of a document is replaced or deleted: this one was \
                 replaced by a newer version or deleted already. List the case's documents for \
                 the current version."
            }
            DocumentDeleted => {
                "The document was deleted (with a reason, which the list shows); its content is \
                 no longer served. It stays stored until the case's retention ends."
            }
            DocumentTooLarge => {
                "The file is larger than this installation accepts for a document (20 MB unless \
                 configured otherwise). Scan at a lower resolution or split the document."
            }
            DocumentTypeNotAccepted => {
                "The file's content is not of an accepted type: PDF, JPEG, PNG, TIFF or HEIC, \
                 judged from the bytes, not from the name or the type the client declared. The \
                 detail names the type that was detected."
            }
            DocumentIntegrity => {
                "The stored document failed its integrity check (its encryption's \
                 authentication or its SHA-256): it was changed in storage. No byte of it was \
                 sent; the failure is in the access log and the server's log. Tell the \
                 installation's operator."
            }
            InternalError => {
                "The server failed. Nothing was changed; the request id in `X-Request-Id` \
                 identifies the failure in the server's log."
            }
            ServiceUnavailable => "The database cannot be reached just now; retry shortly.",
            RequestTimeout => {
                "The request took too long and was abandoned; nothing was changed. Retry later."
            }
            HttpError => "Any other error status of the HTTP stack; `title` names the status.",
        }
    }

    /// The problem's `type`: the address of this code's entry in the catalogue.
    pub fn type_uri(self) -> String {
        format!("/problems/{}", self.as_str())
    }

    fn entry(self) -> ProblemType {
        ProblemType {
            kind: self.type_uri(),
            code: self,
            status: self.status().map(|s| s.as_u16()),
            title: self.status().and_then(|s| s.canonical_reason()).unwrap_or("Error"),
            description: self.description(),
        }
    }
}

/// One entry of the catalogue of problem types.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemType {
    /// The `type` of problem documents with this code.
    #[serde(rename = "type")]
    #[schema(format = "uri-reference")]
    pub kind: String,
    pub code: ProblemCode,
    /// The status it is answered with; absent for `http_error`, which has any.
    pub status: Option<u16>,
    pub title: &'static str,
    /// What it means and what the client can do.
    pub description: &'static str,
}

/// The catalogue of problem types.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemTypes {
    pub items: Vec<ProblemType>,
}

/// List the problem types
///
/// Every `code` a problem document of this API can carry, with its status and what the
/// client can do about it. Public: it holds no data.
#[utoipa::path(
    get,
    path = "/problems",
    operation_id = "listProblemTypes",
    tag = "problems",
    security(),
    responses(
        (status = 200, description = "The catalogue", body = ProblemTypes),
        (status = 422, description = "A query parameter was given; the catalogue takes none",
            body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(RawQuery(query): RawQuery) -> Result<Json<ProblemTypes>, ApiError> {
    // The catalogue is short and whole: it takes no parameters, and says so.
    crate::query::QueryParams::parse(query.as_deref()).finish(())?;
    Ok(Json(ProblemTypes { items: ProblemCode::ALL.iter().map(|c| c.entry()).collect() }))
}

/// Describe a problem type
///
/// The entry a problem document's `type` points to.
#[utoipa::path(
    get,
    path = "/problems/{code}",
    operation_id = "getProblemType",
    tag = "problems",
    security(),
    params(("code" = ProblemCode, Path, description = "The problem's code")),
    responses(
        (status = 200, description = "The problem type", body = ProblemType),
        (status = 404, description = "No problem type has this code", body = crate::error::Problem,
            content_type = "application/problem+json"),
    )
)]
pub async fn show(Path(code): Path<String>) -> Result<Json<ProblemType>, ApiError> {
    ProblemCode::parse(&code).map(|c| Json(c.entry())).ok_or(ApiError::NotFound)
}
