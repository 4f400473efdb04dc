"""The instructor's side of the lab: nbgrader configuration, grading plugins, keys, the demo.

Nothing here is imported by the learner-facing library; students never need this folder.
"""
