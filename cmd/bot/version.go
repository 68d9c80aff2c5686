package main

import (
	"fmt"
	"io"

	"github.com/mangabot/mangabot/pipeline"
)

// cmdVersion prints the version the linker set (pipeline.Version).
func cmdVersion(stdout io.Writer) int {
	fmt.Fprintln(stdout, "mangabot", pipeline.Version)
	return 0
}
