"""What the kiosk and the ward server must agree on: the answer scale and the wire protocol."""
