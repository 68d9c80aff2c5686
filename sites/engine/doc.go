// Package engine holds what the site-engine handlers (sites/madara,
// sites/mangathemesia, sites/foolslide) share: chapter numbers read from
// link titles, chapter lists put into reading order, the real URL of a
// lazy-loaded <img>, and JSON embedded in reader scripts.
//
// An engine is a piece of reader software (a WordPress theme, a PHP reader)
// that hundreds of independent sites run; one handler per engine buys all
// of them. Which engine a host runs is read from its pages (see Detect in
// each engine package), not from a list of hosts.
package engine
