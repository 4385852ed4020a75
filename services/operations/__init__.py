"""Operations context: incidents, dispatch of the closest responders, SLA clocks, and the
experience configuration of each mode."""
