-- step_features_curated_affected: the subjects whose features may change: those with changed training pairs (a subject's features come from their pairs alone)
select distinct subject_id from changed_machine_learning_curated
