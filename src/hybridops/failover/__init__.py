"""Where traffic goes: which region serves it, and the circuit breakers in front of Bedrock."""
