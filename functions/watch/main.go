// Command watch is pushdeploy's watch function: internal/app/handler's "watch",
// wired by internal/app/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/app/lambdamain"

func main() { lambdamain.Run("watch") }
