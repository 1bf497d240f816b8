-- Answered country information requests are listed by the time they were asked, page by
-- page, as open ones are.
create index information_requests_answered_idx on information_requests (asked_at, id)
    where status = 'answered';
