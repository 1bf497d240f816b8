-- Documents of a case: the signed request, identity and travel papers, medical certificates,
-- SEM's decision, receipts, reintegration evidence. A document is never changed: a new
-- version supersedes it (same series, version + 1), a deletion is soft and gives a reason.
--
-- The content is encrypted (AES-256-GCM in the STREAM construction, chunk by chunk) with a
-- data key of its own; the data key is stored only wrapped by a master key of the
-- installation's configuration, named by `key_id`. `sha256` is of the plaintext.
create table documents (
    id uuid primary key,
    case_id uuid not null constraint documents_case_fkey references cases (id),
    -- The id of the series' first version.
    series_id uuid not null,
    version integer not null constraint documents_version_check check (version >= 1),
    category text not null constraint documents_category_check check (category in (
        'return_request', 'identity_document', 'travel_document', 'medical_certificate',
        'sem_decision', 'payout_receipt', 'reintegration_evidence', 'other')),
    description text constraint documents_description_length
        check (char_length(description) between 1 and 2000),
    -- The cleaned name of the uploaded file, offered back on download; never logged.
    file_name text not null constraint documents_file_name_length
        check (char_length(file_name) between 1 and 150),
    media_type text not null,
    size_bytes bigint not null constraint documents_size_check check (size_bytes >= 0),
    sha256 bytea not null constraint documents_sha256_length check (length(sha256) = 32),
    -- Where the ciphertext is: `database` (document_chunks) or `object_store`.
    storage text not null constraint documents_storage_check
        check (storage in ('database', 'object_store')),
    chunk_size integer not null constraint documents_chunk_size_check check (chunk_size > 0),
    key_id text not null,
    wrapped_key bytea not null,
    nonce bytea not null,
    uploaded_at timestamptz not null default now(),
    uploaded_by uuid not null,
    uploaded_by_institution uuid not null
        constraint documents_institution_fkey references institutions (id),
    -- Set when the successor is written, in the same transaction, before the successor's row.
    superseded_by uuid constraint documents_superseded_by_fkey references documents (id)
        deferrable initially deferred,
    superseded_at timestamptz,
    deleted_at timestamptz,
    deleted_by uuid,
    deletion_reason text constraint documents_deletion_reason_length
        check (char_length(deletion_reason) between 1 and 4000),
    constraint documents_series_version_key unique (series_id, version),
    constraint documents_deleted_check check (
        (deleted_at is null) = (deleted_by is null) and (deleted_at is null) = (deletion_reason is null)),
    constraint documents_superseded_check check ((superseded_by is null) = (superseded_at is null))
);
create index documents_case_idx on documents (case_id, series_id, version);
-- The current (latest, not deleted) version of a series is unique.
create unique index documents_current_idx on documents (series_id)
    where superseded_by is null and deleted_at is null;
-- `submit` asks whether the case has a signed request.
create index documents_return_request_idx on documents (case_id)
    where category = 'return_request' and superseded_by is null and deleted_at is null;
-- Key rotation walks the documents wrapped by other keys.
create index documents_key_idx on documents (key_id, id);

-- The ciphertext of documents stored in the database, chunk by chunk (each chunk a STREAM
-- segment with its tag). The reference is checked at commit: an upload writes its chunks
-- while it streams and the document's row once the whole file was read.
create table document_chunks (
    document_id uuid not null constraint document_chunks_document_fkey references documents (id)
        deferrable initially deferred,
    seq integer not null constraint document_chunks_seq_check check (seq >= 0),
    bytes bytea not null,
    primary key (document_id, seq)
);
alter table document_chunks alter column bytes set storage external;
