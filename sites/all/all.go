// Package all registers every site handler: import it for its side
// effects wherever a sites.Set is built (cmd/bot, tests of the layers
// above). Adding a site is one line here.
package all

import (
	_ "github.com/mangabot/mangabot/sites/foolslide"
	_ "github.com/mangabot/mangabot/sites/generic"
	_ "github.com/mangabot/mangabot/sites/madara"
	_ "github.com/mangabot/mangabot/sites/mangadex"
	_ "github.com/mangabot/mangabot/sites/mangathemesia"
	_ "github.com/mangabot/mangabot/sites/webtoon"
)
