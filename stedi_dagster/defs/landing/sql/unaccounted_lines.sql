-- unaccounted_lines: landing files of dataset {{dataset}} whose non-blank lines are not all accounted for by their rows in the landing table, their rows in the quarantine table and their erased lines (of the files {{which}} is true of: all, or those a run changed)
select f.file, f.lines, coalesce(l.rows, 0) as landed, coalesce(q.rows, 0) as quarantined, f.erased
from (select * from {{dataset}}_files where {{which}}) f
left join (select * from {{dataset}}_landing_file_rows where {{which}}) l using (file)
left join (select * from {{dataset}}_quarantine_file_rows where {{which}}) q using (file)
where f.lines <> coalesce(l.rows, 0) + coalesce(q.rows, 0) + f.erased
order by f.file
