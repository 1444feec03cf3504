-- unaccounted_lines: landing files of dataset {{dataset}} whose non-blank lines are not all accounted for by their rows in the landing table, their rows in the quarantine table and their erased lines
select f.file, f.lines, coalesce(l.rows, 0) as landed, coalesce(q.rows, 0) as quarantined, f.erased
from {{dataset}}_files f
left join {{dataset}}_landing_file_rows l using (file)
left join {{dataset}}_quarantine_file_rows q using (file)
where f.lines <> coalesce(l.rows, 0) + coalesce(q.rows, 0) + f.erased
order by f.file
