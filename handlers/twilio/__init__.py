"""The Twilio dialect (2010-04-01, twilio.yaml): thin handlers over the same models and engine as the RestComm
dialect, with Twilio's representations (every field a string, RFC 2822 dates), envelopes and error codes."""
