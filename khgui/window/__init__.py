"""The main window, its dialogs and its status-bar pieces."""
