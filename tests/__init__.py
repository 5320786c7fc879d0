"""The test suite, a package so that test files in different folders may share a basename and
helpers are imported as `tests.support...`. Folders mirror the package: tests/index/ingest/
holds the tests of citebot.index.ingest, tests/bot/discord/ those of citebot.bot.discord."""
