# A template that never finishes: the render ends at its time limit.
while True:
    pass
