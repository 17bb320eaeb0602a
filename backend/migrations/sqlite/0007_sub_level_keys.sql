-- The stored row errors name the sub-level fields as SPEC section 2 does
-- (`sub_level_1`), as the server now writes and reads them; before, serde
-- wrote `sub_level1`. serde_json's compact text quotes a key unescaped,
-- and any quote inside a value escaped, so `"field":"sub_level1"` can only
-- be an error's field. Keep in step with ../postgres/0007_sub_level_keys.sql.
UPDATE imports SET errors_json =
    REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(errors_json,
        '"field":"sub_level1"', '"field":"sub_level_1"'),
        '"field":"sub_level2"', '"field":"sub_level_2"'),
        '"field":"sub_level3"', '"field":"sub_level_3"'),
        '"field":"sub_level4"', '"field":"sub_level_4"'),
        '"field":"sub_level5"', '"field":"sub_level_5"')
WHERE errors_json LIKE '%"field":"sub_level%';
