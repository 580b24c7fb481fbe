-- The fleet as the heartbeat sees it, read without joining it (`tiktok-adapter status`):
-- members.lua's reply, without its writes. KEYS as in roster.lua.
return roster(redis_now)
