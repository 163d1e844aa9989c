from rulebridge.cli import main

main()
