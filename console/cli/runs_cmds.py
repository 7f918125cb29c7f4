"""(commands registered here as they are built)"""
