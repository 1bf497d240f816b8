-- Search by the beginnings of words (docs/adr/0009): every word of a query must begin a word
-- of the household's names or aliases or of the reference (or, for readers who may see
-- them, a ZEMIS or N number), without regard to case or accents.
--
-- Each case's words, one row per distinct word, carry the case's last change: the words that
-- share their first three letters are walked newest first (`case_search_words_walk_idx`),
-- joined to their case for the reader's scope and filters, until a page is full. A word as
-- common as a frequent surname fills a page within the first entries; a rare one is found
-- among the few entries of its three letters. A query word of one or two letters, or a list
-- in the order of opening, finds its words through `case_search_words_word_idx` and sorts
-- the matches. This replaces the substring search over `search_text` with its trigram
-- indexes, whose cost grew with the number of cases a common word matched.

create table case_search_words (
    case_id uuid not null constraint case_search_words_case_fkey
        references cases (id) on delete cascade,
    -- folded (`retour_fold`) and split at every character that is not a letter or a digit;
    -- compared byte-wise, so that a prefix is a range of the index
    word text collate "C" not null,
    -- a ZEMIS or N number, which only readers of the asylum procedure may search by
    is_id boolean not null,
    -- the case's `updated_at`, kept current by `cases_search_words_touch`
    updated_at timestamptz not null,
    constraint case_search_words_pkey primary key (case_id, is_id, word)
);
create index case_search_words_walk_idx
    on case_search_words (left(word, 3), updated_at desc, case_id desc) include (word, is_id);
create index case_search_words_word_idx on case_search_words (word);

-- The words of a case's search columns.
create function retour_search_words(names text, ids text)
    returns table (word text, is_id boolean)
    language sql immutable parallel safe as $$
    select w, false from regexp_split_to_table(names, '[^[:alnum:]]+') w where w <> ''
    union
    select w, true from regexp_split_to_table(ids, '[^[:alnum:]]+') w where w <> ''
$$;

-- Stores the words of the cases `targets` (whose old words are gone) from their search
-- columns.
create function store_case_words(targets uuid[]) returns void language sql as $$
    insert into case_search_words (case_id, word, is_id, updated_at)
    select c.id, w.word, w.is_id, c.updated_at
    from cases c, retour_search_words(c.search_text, c.search_ids) w
    where c.id = any(targets);
$$;

-- Recomputes a case's search columns and words from its reference and persons. Called in
-- the same transaction as every change to them.
create or replace function refresh_case_search(target uuid) returns void language sql as $$
    update cases c set
        search_text = retour_fold(c.reference || ' ' || coalesce((
            select string_agg(concat_ws(' ', p.surname, p.given_names,
                       array_to_string(p.aliases, ' ')), ' ' order by p.position)
            from case_persons p where p.case_id = c.id), '')),
        search_ids = coalesce((
            select string_agg(concat_ws(' ', p.zemis_number,
                       lower(replace(p.n_number, ' ', ''))), ' ' order by p.position)
            from case_persons p where p.case_id = c.id), '')
    where c.id = target;
    delete from case_search_words where case_id = target;
    select store_case_words(array[target]);
$$;

-- A case's words follow its last change.
create function case_search_words_touch() returns trigger language plpgsql as $$
begin
    update case_search_words set updated_at = new.updated_at where case_id = new.id;
    return null;
end $$;
create trigger cases_search_words_touch after update of updated_at on cases
    for each row when (old.updated_at is distinct from new.updated_at)
    execute function case_search_words_touch();

-- Every case at once (`store_case_words` with every id would look each one up).
insert into case_search_words (case_id, word, is_id, updated_at)
select c.id, w.word, w.is_id, c.updated_at
from cases c, retour_search_words(c.search_text, c.search_ids) w;

drop index cases_search_text_idx;
drop index cases_search_ids_idx;
