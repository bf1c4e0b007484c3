// Its own module so that the CLI can check a tag without loading the rules' schema and regex engine.

/** A language tag as people write them: `en`, `es`, `pt-BR`, `zh-Hant`. */
export const LANGUAGE_TAG = /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/;
