// Package pipeline glues sites → download → pdf into one run, used by both
// the CLI (`bot fetch`) and the Discord bot: New builds the process-wide
// Env from config, Env.Resolve turns a Request into a Plan, Env.Run
// downloads the plan through one window across its chapters and writes
// each file page by page as the pages arrive.
package pipeline
