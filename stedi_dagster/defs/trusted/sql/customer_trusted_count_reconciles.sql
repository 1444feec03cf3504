-- customer_trusted_count_reconciles: consenting emails, counted from customer_landing
select count(*) from research_consent where consented
