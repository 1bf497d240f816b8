-- A search first walks the newest cases of the reader's scope in list order and checks the
-- words on the index entries alone (an index-only scan): a word as common as a frequent
-- surname fills a page within a few thousand entries, without visiting the table. The
-- indexes of the default order (`updated_at`) carry the status and the search columns for
-- that; a rarer word falls back to the trigram indexes.

drop index cases_service_updated_idx;
create index cases_service_updated_idx on cases (counselling_service_id, updated_at desc, id desc)
    include (status, search_text, search_ids);

drop index cases_submitted_updated_idx;
create index cases_submitted_updated_idx on cases (updated_at desc, id desc)
    include (status, search_text, search_ids)
    where submitted_at is not null;

drop index cases_approved_updated_idx;
create index cases_approved_updated_idx on cases (updated_at desc, id desc)
    include (status, search_text, search_ids)
    where approved_at is not null;

drop index cases_mission_updated_idx;
create index cases_mission_updated_idx on cases (reintegration_mission_id, updated_at desc, id desc)
    include (status, search_text, search_ids)
    where reintegration_mission_id is not null;
