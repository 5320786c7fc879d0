"""What the tests are built on, not tests themselves: the loopback Discord server
(`discord_server`), the loopback web servers (`web_server`, `loopback_site`), PDFs made with
fpdf2 (`pdf_fixtures`), event-loop lag sampling (`loop_lag`), and the shared helpers
(`helpers`: paths, builds through the real build, the bot running in-process)."""
