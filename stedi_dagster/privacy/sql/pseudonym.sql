-- pseudonym: HMAC-SHA256 of a value's person_key (two spellings of one email give one id) under the pseudonym key (inner and outer pads set as variables), first 32 hex characters
create or replace temp macro pseudonym(value) as
    left(sha256(getvariable('hmac_outer') || unhex(sha256(getvariable('hmac_inner') || encode(person_key(value))))), 32)
