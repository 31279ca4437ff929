// Command watch is pushdeploy's watch function: internal/handler's "watch",
// wired by internal/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/lambdamain"

func main() { lambdamain.Run("watch") }
