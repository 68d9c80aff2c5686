// Package follow checks followed series for new chapters and hands each
// new chapter to a Deliverer exactly once: the bot posts it in a Discord
// channel, `bot follow check` prints it.
//
// A check lists the series through its handler's sites.Lister (through
// the shared fetcher, so checks of one host share its rate limit), and in
// one store transaction marks what it listed as seen and records the new
// chapters as pending. Only then are they delivered, each marked
// delivered after its post. A crash in between leaves them pending, and
// the next start delivers them (the bot first looks in the channel for a
// post of it). The first check of a new follow is a baseline: what exists
// then is seen, nothing is delivered.
package follow
