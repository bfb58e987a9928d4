"""The ward service and the pure ward domain (picture, trends, alerts, limits, SPC). Imports no Flask."""
