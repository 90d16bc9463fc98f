"""The `bandwidth` provider plugin: the engine runs `python <this directory> <engine address>`."""

from bandwidth_provider.plugin.server import main

main()
