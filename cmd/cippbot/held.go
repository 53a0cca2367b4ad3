package main

import "time"

// secretHold and secretRetry are how long serve holds a secret it could not
// deliver and how soon it first tries again; zero means the bot's defaults
// (15 minutes, 10 s). Tests shorten them.
var secretHold, secretRetry time.Duration
