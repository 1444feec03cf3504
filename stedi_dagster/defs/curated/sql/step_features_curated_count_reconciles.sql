-- step_features_curated_count_reconciles: one row per training pair of machine_learning_curated
select count(*) from machine_learning_curated
