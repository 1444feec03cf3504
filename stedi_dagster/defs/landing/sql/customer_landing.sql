-- customer_landing: every customer record of the landing JSON, typed, one row per line, except customers on the erasure list
select customerName, email, phone, birthDay, serialNumber, registrationDate, lastUpdateDate,
       shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
from customer_json
where not erased('email', email)
