-- Access reviews: each review is one JSON document written by the posture
-- logic (items, owners, answers). The store does not interpret it; `version`
-- makes answering a compare-and-swap, so two answers at once cannot lose
-- each other.
CREATE TABLE reviews (
    id        TEXT    NOT NULL PRIMARY KEY,
    opened_at INTEGER NOT NULL,
    due_at    INTEGER NOT NULL,
    body      TEXT    NOT NULL,
    version   INTEGER NOT NULL DEFAULT 1
) STRICT;

CREATE INDEX reviews_opened ON reviews (opened_at);
