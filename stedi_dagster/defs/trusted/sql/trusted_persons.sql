-- trusted_persons: each trusted customer's person key, email as spelled there and research consent date, which accelerometer_trusted's SQL and customer_curated's read (kept per data file of customer_trusted: at x1000 keying every trusted customer again took most of those steps when a new file added a few readings, or a withdrawal changed one row)
select person_key(email) as person, email, shareWithResearchAsOfDate
from customer_trusted
