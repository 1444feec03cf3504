-- accelerometer_trusted: readings whose user is a trusted (consenting) customer
select a.*
from accelerometer_landing a
where a.user in (select email from customer_trusted)
