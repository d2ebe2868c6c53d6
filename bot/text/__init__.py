"""Text others typed, made safe to show: Slack mrkdwn escaping and the check of a link's URL."""
