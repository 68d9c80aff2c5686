// Package humanize formats quantities for people: status messages, the CLI
// progress line and log lines all use it, so a size reads the same
// everywhere.
package humanize
