package main

import (
	"fmt"
	"io"

	"github.com/mangabot/mangabot/config"
)

// cmdConfigExample prints a configuration file with every key, its help
// and its default (config.example.toml is this output).
func cmdConfigExample(stdout io.Writer) int {
	fmt.Fprint(stdout, config.Example())
	return 0
}
