// Package fakediscord is an in-process stand-in for Discord's REST API and
// gateway, on 127.0.0.1, for end-to-end tests of code that uses the real
// discordgo Session.
//
// It serves the parts of API v9 the bot uses: the gateway URL, command bulk
// overwrite, interaction callbacks, the interaction webhook (@original
// edits, followups), channel messages with the bot token, and a gateway
// websocket that says HELLO, accepts IDENTIFY, sends READY, answers
// heartbeats and lets a test dispatch INTERACTION_CREATE events.
//
// Every REST request is recorded (method, path, JSON payload, uploaded
// files). A test can inject failures (429 with retry_after, 5xx, 413) on
// chosen routes, expire interaction tokens (webhook routes then answer 401
// with code 50027) and set an attachment size limit (larger uploads get 413
// with code 40005), and the shard count GET /gateway/bot recommends.
package fakediscord
