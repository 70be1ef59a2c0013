"""What a task's arguments become: the window of audit events it owns, and the query that reads it.

- :mod:`.window`: ``oldest`` / ``latest`` and a DAG run's data interval as the API's inclusive bounds
  (the triggers use it too, to read a ``start``);
- :mod:`.query`: the arguments every operator and the sensor take (connection, window, filters), the
  hook they make from them and the errors that fail a task at once.
"""
