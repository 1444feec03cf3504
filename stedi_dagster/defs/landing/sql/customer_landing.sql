-- customer_landing: every customer record of the landing JSON, typed, one row per line
select customerName, email, phone, birthDay, serialNumber, registrationDate, lastUpdateDate,
       shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
from customer_json
