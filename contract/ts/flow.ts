// Drives one case through the whole return workflow with a client generated from the
// OpenAPI document (openapi-typescript types, openapi-fetch calls): every request and
// answer type comes from the document, none is written here.
//
// Usage: RETOUR_BASE_URL=http://127.0.0.1:8080 node build/ts/ts/flow.js
// Fails (exit 1) on the first answer that is not the one expected.

import createClient from "openapi-fetch";
import type { components, paths } from "../build/schema.js";

type Schemas = components["schemas"];
type Case = Schemas["CaseResponse"];
type Api = ReturnType<typeof createClient<paths>>;

const baseUrl = process.env.RETOUR_BASE_URL;
if (!baseUrl) {
    throw new Error("RETOUR_BASE_URL is not set");
}
const password = process.env.RETOUR_DEMO_PASSWORD ?? "retour-demo";

/** What openapi-fetch answers: the body on success, the error body otherwise. */
interface Answer<T> {
    data?: T;
    error?: unknown;
    response: Response;
}

function fail(what: string, response: Response, detail: unknown): never {
    throw new Error(`${what}: ${response.status} ${JSON.stringify(detail)}`);
}

/** The body of an answer that must have `status`. */
function expect<T>(what: string, status: number, answer: Answer<T>): T {
    if (answer.response.status !== status || answer.data === undefined) {
        fail(`${what}: expected ${status}`, answer.response, answer.error);
    }
    console.log(`ok  ${status} ${what}`);
    return answer.data;
}

/** An answer without a body (204). */
function expectEmpty(what: string, status: number, answer: Answer<unknown>): void {
    if (answer.response.status !== status) {
        fail(`${what}: expected ${status}`, answer.response, answer.error);
    }
    console.log(`ok  ${status} ${what}`);
}

/** A header the document declares for this answer. */
function header(what: string, response: Response, name: string): string {
    const value = response.headers.get(name);
    if (value === null) {
        throw new Error(`${what}: no ${name} header`);
    }
    return value;
}

function check(what: string, condition: boolean, detail: unknown): void {
    if (!condition) {
        throw new Error(`${what}: ${JSON.stringify(detail)}`);
    }
}

/** A case answer: its body, and its ETag (which must be its version). */
interface Versioned {
    body: Case;
    etag: string;
}

function versioned(what: string, status: number, answer: Answer<Case>): Versioned {
    const body = expect(what, status, answer);
    const etag = header(what, answer.response, "ETag");
    check(`${what}: ETag is the version`, etag === `"${body.version}"`, { etag, version: body.version });
    return { body, etag };
}

function expectStatus(what: string, current: Versioned, status: Schemas["CaseStatus"]): void {
    check(`${what}: status`, current.body.status === status, current.body.status);
}

async function signIn(email: string): Promise<Api> {
    const anonymous = createClient<paths>({ baseUrl });
    const tokens = expect(
        `sign in as ${email}`,
        200,
        await anonymous.POST("/v1/auth/login", { body: { email, password } }),
    );
    const client = createClient<paths>({
        baseUrl,
        headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    const me = expect(`${email}: /v1/me`, 200, await client.GET("/v1/me"));
    check(`${email}: /v1/me`, me.email === email, me);
    return client;
}

function day(offsetDays: number): string {
    const date = new Date(Date.now() + offsetDays * 86_400_000);
    return date.toISOString().slice(0, 10);
}

/** The actions taken, in order: the case's history must list them. */
const taken: string[] = ["open"];

async function transition(
    who: Api,
    current: Versioned,
    body: Schemas["TransitionRequest"],
    status: Schemas["CaseStatus"],
): Promise<Versioned> {
    const answer = await who.POST("/v1/cases/{id}/transitions", {
        params: { path: { id: current.body.id }, header: { "If-Match": current.etag } },
        body,
    });
    const next = versioned(`${body.action} → ${status}`, 200, answer);
    expectStatus(body.action, next, status);
    taken.push(body.action);
    return next;
}

async function read(who: Api, id: string, what: string): Promise<Versioned> {
    return versioned(what, 200, await who.GET("/v1/cases/{id}", { params: { path: { id } } }));
}

/** What the household asks for and SEM approves, in rappen. */
const assistance: Schemas["RequestedAssistanceInput"][] = [
    { component: "startup_cash", amount_rappen: 150_000 },
    { component: "travel_money", amount_rappen: 20_000 },
    { component: "reintegration_project", amount_rappen: 300_000 },
];

async function main(): Promise<void> {
    const counsellor = await signIn("counsellor.be@demo.test");
    const sem = await signIn("sem@demo.test");
    const repat = await signIn("swissrepat@demo.test");
    const iom = await signIn("iom@demo.test");
    const mission = await signIn("mission.iq@demo.test");

    // Opening: the counselling service, with the household, eligibility, the declaration
    // and the assistance requested (what submitting needs).
    const zemis = String(10_000_000 + Math.floor(Math.random() * 89_999_999));
    const newCase: Schemas["NewCaseInput"] = {
        programme: "cantonal",
        destination_country: "IQ",
        planned_departure_date: day(30),
        persons: [
            {
                relationship: "principal",
                surname: "Hassan",
                given_names: "Karim",
                date_of_birth: "1988-04-12",
                sex: "male",
                nationality: "IQ",
                zemis_number: zemis,
                n_number: "N 123 456",
                residence_status: "N",
                entry_date: "2024-02-01",
                travelling: true,
            },
            {
                relationship: "child",
                surname: "Hassan",
                given_names: "Lina",
                date_of_birth: "2015-06-01",
                sex: "female",
                nationality: "IQ",
            },
        ],
        vulnerabilities: ["medical"],
        medical: { summary: "Diabetes type 1", fit_to_travel: true, escort: "none" },
        eligibility: {
            criminal_offences: false,
            abuse: false,
            sufficient_assets: false,
            prior_assistance: false,
        },
        voluntariness_declaration: { signed_on: day(0) },
        requested_assistance: assistance,
    };
    const opened = await counsellor.POST("/v1/cases", { body: newCase });
    let current = versioned("open a case", 201, opened);
    const id = current.body.id;
    const location = header("open a case", opened.response, "Location");
    check("open a case: Location", location === `/v1/cases/${id}`, location);
    expectStatus("open", current, "counselling");
    current = await read(counsellor, id, "read the case");

    // A signed paper, uploaded by the counsellor: multipart, the file as a Blob.
    const uploadPdf = async (what: string, upload: Schemas["DocumentUpload"], text: string) => {
        const bytes = new TextEncoder().encode(`%PDF-1.4\n% ${text}\n%%EOF\n`);
        return expect(
            what,
            201,
            await counsellor.POST("/v1/cases/{id}/documents", {
                params: { path: { id } },
                body: upload,
                bodySerializer: (body) => {
                    const form = new FormData();
                    form.append("category", body.category);
                    form.append("file", new Blob([bytes], { type: "application/pdf" }), body.file);
                    return form;
                },
            }),
        );
    };
    // The signed request, which submitting needs.
    const uploaded = await uploadPdf(
        "upload the signed request",
        { category: "return_request", file: "antrag.pdf" },
        "signed request for return assistance",
    );
    const signed = new TextEncoder().encode("%PDF-1.4\n% signed request for return assistance\n%%EOF\n");
    check("upload: judged a PDF", uploaded.media_type === "application/pdf", uploaded);

    // The family's consent to hand their data to IOM's mission, on a signed form: the
    // reintegration needs it of every travelling adult.
    const consentForm = await uploadPdf(
        "upload the signed consent form",
        { category: "consent_form", file: "einwilligung.pdf" },
        "signed consent form",
    );
    for (const person of current.body.persons) {
        const consent = expect(
            "record a consent",
            201,
            await counsellor.POST("/v1/cases/{id}/consents", {
                params: { path: { id } },
                body: {
                    person_id: person.id,
                    purpose: "transfer_to_mission",
                    sheet_version: "2026-03",
                    sheet_language: "de",
                    given_on: day(0),
                    document_id: consentForm.id,
                },
            }),
        );
        check("consent: standing", consent.withdrawn_on === null, consent);
    }
    const documents = expect(
        "list the documents",
        200,
        await counsellor.GET("/v1/cases/{id}/documents", { params: { path: { id } } }),
    );
    check("list: the upload", documents.items.some((d) => d.id === uploaded.id), documents);
    const content = await counsellor.GET("/v1/cases/{id}/documents/{document_id}/content", {
        params: { path: { id, document_id: uploaded.id } },
        parseAs: "arrayBuffer",
    });
    const bytes = new Uint8Array(expect("download the signed request", 200, content));
    check("download: the same bytes", bytes.length === signed.length && bytes.every((b, i) => b === signed[i]), bytes.length);

    current = await transition(counsellor, current, { action: "submit" }, "submitted");
    current = await transition(sem, current, { action: "start_review" }, "under_review");

    // A stale ETag is refused, and changes nothing.
    const stale = await sem.POST("/v1/cases/{id}/transitions", {
        params: { path: { id }, header: { "If-Match": `"${current.body.version - 1}"` } },
        body: { action: "start_review" },
    });
    check("a stale If-Match: 412", stale.response.status === 412, stale.error);
    console.log("ok  412 a stale If-Match is refused");

    // SEM's information loop: the question, the counselling service's edit and answer.
    current = await transition(
        sem,
        current,
        { action: "request_info", question: "Please confirm the child's date of birth." },
        "info_requested",
    );
    const patched = await counsellor.PATCH("/v1/cases/{id}", {
        params: { path: { id }, header: { "If-Match": current.etag } },
        body: { vulnerabilities: ["medical", "single_parent"] },
        headers: { "Content-Type": "application/merge-patch+json" },
    });
    current = versioned("patch the case while SEM waits", 200, patched);
    check(
        "patch: vulnerabilities",
        JSON.stringify(current.body.vulnerabilities) === JSON.stringify(["medical", "single_parent"]),
        current.body.vulnerabilities,
    );
    current = await transition(
        counsellor,
        current,
        { action: "answer_info", answer: "Confirmed: 2015-06-01." },
        "under_review",
    );
    const question = current.body.review_questions?.[0];
    check("answer recorded", question?.answer === "Confirmed: 2015-06-01.", question);

    // SEM's decision.
    current = await transition(
        sem,
        current,
        {
            action: "approve",
            reasons: "Eligible; family returns together.",
            override_justification: null,
            approved_assistance: assistance,
        },
        "approved",
    );
    check("decision", current.body.decision?.decision === "approved", current.body.decision);

    // swissREPAT books the travel and confirms the departure.
    current = await transition(
        repat,
        current,
        {
            action: "book_travel",
            itinerary: {
                departure_airport: "ZRH",
                departure_at: new Date(Date.now() + 14 * 86_400_000).toISOString(),
                flights: ["TK1912", "TK 294"],
                destination_airport: "EBL",
                escort: "none",
                sim: false,
            },
        },
        "travel_booked",
    );
    current = await transition(
        repat,
        current,
        {
            action: "confirm_departure",
            departed_at: new Date(Date.now() - 10 * 60_000).toISOString(),
            payout: {
                startup_cash_rappen: 150_000,
                travel_money_rappen: 20_000,
                receipt_reference: "ZRH-2026-1234",
            },
        },
        "departed",
    );

    // Reintegration: IOM Bern assigns IOM Iraq, which records a disbursement and a visit.
    const missions = expect(
        "list the IOM missions",
        200,
        await iom.GET("/v1/institutions", { params: { query: { kind: "iom_mission" } } }),
    );
    const iraq = missions.items.find((institution) => institution.name === "IOM Iraq");
    if (iraq === undefined) {
        throw new Error(`no IOM Iraq among ${JSON.stringify(missions.items.map((i) => i.name))}`);
    }
    current = await read(iom, id, "IOM Bern reads the case");
    check("IOM Bern's actions", current.body.allowed_actions.includes("start_reintegration"), current.body.allowed_actions);
    current = await transition(iom, current, { action: "start_reintegration", mission_id: iraq.id }, "reintegration");
    check("mission", current.body.reintegration?.mission_name === "IOM Iraq", current.body.reintegration);

    const paid = await mission.POST("/v1/cases/{id}/disbursements", {
        params: { path: { id } },
        body: { amount_rappen: 120_000, purpose: "Sewing machine and fabric", paid_on: day(0) },
    });
    const disbursement = expect("record a disbursement", 201, paid);
    check("disbursement", disbursement.amount_rappen === 120_000, disbursement);
    check("disbursement: Location", header("disbursement", paid.response, "Location") === `/v1/cases/${id}`, null);
    const visited = await mission.POST("/v1/cases/{id}/monitoring-visits", {
        params: { path: { id } },
        body: { due_on: day(0), done_on: day(0), outcome: "The shop is open.", sustainability_score: 0.75 },
    });
    const visit = expect("record a monitoring visit", 201, visited);
    check("visit", visit.sustainability_score === 0.75, visit);
    check("visit: Location", header("visit", visited.response, "Location") === `/v1/cases/${id}`, null);
    const missionView = await read(mission, id, "the mission reads the case");
    check("disbursed", missionView.body.reintegration?.disbursed_rappen === 120_000, missionView.body.reintegration);

    // IOM Bern closes the case (the records changed its version: read it first); part of the
    // project is not disbursed, so the closure says why.
    current = await read(iom, id, "IOM Bern reads the case again");
    current = await transition(
        iom,
        current,
        { action: "close", outcome: "completed", comment: "The shop runs; the rest of the project is not needed." },
        "closed",
    );
    check("closed", current.body.ending?.kind === "closed" && current.body.allowed_actions.length === 0, current.body.ending);

    const history = expect(
        "the case's history",
        200,
        await counsellor.GET("/v1/cases/{id}/events", { params: { path: { id } } }),
    );
    const steps = history.items.map((event) => event.action).join(",");
    check("history", steps === taken.join(","), { steps, taken });
    console.log(`TypeScript client: case ${current.body.reference} driven from opening to closing`);
}

main().catch((error: unknown) => {
    console.error(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
});
