"""The screens: server-rendered pages over the same commands and queries as the JSON API (the back office at
`/admin/`), with their sessions, words in two languages, money and dates as staff read them, and browser assets."""
